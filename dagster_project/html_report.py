"""A minimal HTML page for reports that must work offline: inline CSS, no scripts, no fonts,
no external references of any kind."""

from __future__ import annotations

from html import escape
from typing import Iterable

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 70em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .9em; }
th, td { border: 1px solid #bbb; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #eee; } .ok { color: #17612b; font-weight: bold; }
.fehler { color: #a30000; font-weight: bold; } .warnung { color: #8a5a00; font-weight: bold; }
.klein { color: #555; font-size: .85em; }
"""


def table(header: list[str], rows: Iterable[Iterable[object]], raw_columns: set[int] | None = None) -> str:
    raw_columns = raw_columns or set()
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell if i in raw_columns else escape(str(cell))}</td>"
                         for i, cell in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def status(success: bool, severity: str) -> str:
    if success:
        return '<span class="ok">erfüllt</span>'
    if severity == "critical":
        return '<span class="fehler">nicht erfüllt (Fehler, sperrt die Freigabe)</span>'
    return '<span class="warnung">nicht erfüllt (Warnung)</span>'


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="de"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
            f"<body><h1>{escape(title)}</h1>{body}</body></html>\n")
