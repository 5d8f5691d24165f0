"""Small Markdown previews for Dagster metadata."""

import polars as pl
from tabulate import tabulate


def table(frame: pl.DataFrame, limit: int = 20) -> str:
    shown = frame.head(limit)
    text = tabulate(shown.rows(), headers=shown.columns, tablefmt="github")
    return text if frame.height <= limit else f"{text}\n\n_{frame.height - limit} more rows_"


def mapping(pairs: dict, key: str, value: str) -> str:
    return tabulate(sorted(pairs.items()), headers=[key, value], tablefmt="github") if pairs else "_none_"
