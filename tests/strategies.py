"""Hypothesis strategies the tests share. Imported as ``from strategies import ...``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st


def json_values(
    keys: Sequence[str] = (),
    *,
    text: st.SearchStrategy[str] | None = None,
    floats: st.SearchStrategy[float] | None = st.floats(allow_nan=False),
    max_leaves: int = 12,
    max_size: int = 4,
) -> st.SearchStrategy[Any]:
    """Any JSON value (what ``json.loads`` can return but NaN; ``floats=None`` for none at all).

    ``keys`` are field names a wire format uses: object keys are drawn from them as well as
    from short random text, so fuzzed bodies reach past a decoder's first shape check.
    """
    text = st.text(max_size=10) if text is None else text
    leaves = st.none() | st.booleans() | st.integers() | text
    if floats is not None:
        leaves = leaves | floats
    names = st.text(max_size=8)
    if keys:
        names = st.sampled_from(list(keys)) | names
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=max_size)
        | st.dictionaries(names, inner, max_size=max_size),
        max_leaves=max_leaves,
    )


JSON = json_values()
"""The everyday JSON value strategy."""
