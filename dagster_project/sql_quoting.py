"""Quoting for SQL text built in Python (identifiers and string literals; DuckDB and PostgreSQL)."""


def quote(identifier: str) -> str:
    """A quoted identifier: "name" with inner quotes doubled."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A string literal: 'text' with inner quotes doubled."""
    return "'" + text.replace("'", "''") + "'"
