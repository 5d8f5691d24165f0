"""Small Markdown previews for Dagster metadata.

The UI renders Markdown and drops what looks like HTML, so `INV-<yyyymm>-<account_id>` would read
`INV--`: every cell is escaped to show as the text it is (and a `|` cannot split a table cell).
"""

import polars as pl
from tabulate import tabulate

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "\\|", "\n": " "})


def text(value: object) -> object:
    """A cell as literal text; numbers stay numbers so tabulate aligns them."""
    return value.translate(_ESCAPES) if isinstance(value, str) else value


def table(frame: pl.DataFrame, limit: int = 20) -> str:
    shown = frame.head(limit)
    rows = [[text(cell) for cell in row] for row in shown.rows()]
    rendered = tabulate(rows, headers=[text(c) for c in shown.columns], tablefmt="github")
    return rendered if frame.height <= limit else f"{rendered}\n\n_{frame.height - limit} more rows_"


def mapping(pairs: dict, key: str, value: str) -> str:
    rows = [[text(k), text(v)] for k, v in sorted(pairs.items())]
    return tabulate(rows, headers=[text(key), text(value)], tablefmt="github") if pairs else "_none_"
