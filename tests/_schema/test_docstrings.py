"""parse_docstring: summaries and parameter descriptions in Google, NumPy and reST style."""

from __future__ import annotations

from minicall._schema.docstrings import parse_docstring

GOOGLE = """Recommend a book.

    Picks one from the shelf.

    Args:
        genre (str): The genre
            to pick from.
        *args: Extra.
        year: The year.

    Returns:
        str: a book title.
    """

NUMPY = """Recommend a book.

    Parameters
    ----------
    genre : str
        The genre
        to pick from.
    year : int
        The year.

    Returns
    -------
    str
        a title
    """

REST = """Recommend a book.

    :param genre: The genre
        to pick from.
    :param int year: The year.
    :returns: a title.
    """


def test_google_args_section_gives_descriptions_and_summary() -> None:
    doc = parse_docstring(GOOGLE)
    assert doc.summary == "Recommend a book.\n\nPicks one from the shelf."
    assert doc.params == {"genre": "The genre to pick from.", "args": "Extra.", "year": "The year."}


def test_numpy_parameters_section_gives_descriptions() -> None:
    doc = parse_docstring(NUMPY)
    assert doc.summary == "Recommend a book."
    assert doc.params == {"genre": "The genre to pick from.", "year": "The year."}


def test_rest_param_fields_give_descriptions() -> None:
    doc = parse_docstring(REST)
    assert doc.summary == "Recommend a book."
    assert doc.params == {"genre": "The genre to pick from.", "year": "The year."}


def test_attributes_section_describes_fields() -> None:
    doc = parse_docstring("A book.\n\nAttributes:\n    title: The title.\n")
    assert doc.params == {"title": "The title."}


def test_other_sections_end_the_summary_without_adding_params() -> None:
    doc = parse_docstring("Do it.\n\nRaises:\n    ValueError: never.\n")
    assert doc.summary == "Do it." and doc.params == {}


def test_empty_and_plain_docstrings() -> None:
    assert parse_docstring(None).summary == "" and parse_docstring("").params == {}
    assert parse_docstring("Just words: here.").summary == "Just words: here."
