"""The HTTP value types every layer passes around."""

from __future__ import annotations

import dataclasses

from minicall._model.clock import Deadline
from minicall._model.http import HttpRequest


def _full_request() -> HttpRequest:
    # Every field away from its default, so a copy that forgot one would show it.
    values = {
        "method": "POST",
        "url": "https://api.example.com/v1/x",
        "headers": {"a": "1"},
        "body": b"{}",
        "timeout": 3.0,
        "deadline": Deadline(10.0),
        "max_body_bytes": 123,
    }
    assert set(values) == {f.name for f in dataclasses.fields(HttpRequest)}, "a new field: copy it in HttpRequest._with"
    return HttpRequest(**values)


def test_with_headers_is_replace_of_the_headers():
    request = _full_request()
    headers = {"b": "2"}
    assert request.with_headers(headers) == dataclasses.replace(request, headers=headers)


def test_with_deadline_is_replace_of_the_deadline():
    request = _full_request()
    deadline = Deadline(1.0)
    assert request.with_deadline(deadline) == dataclasses.replace(request, deadline=deadline)
    assert request.with_deadline(None).deadline is None and request.deadline is not None
