"""A loaded snapshot arranged so a request does no serialisation.

Response bodies are joined from the JSON fragments the snapshot file carries (an account's header,
each quota's figures): a lookup is two dict hits and a string join, which is what keeps a lookup
close to a route returning a constant body.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import polars as pl
import pyarrow as pa

from billing_pipeline.lib.quota_snapshot import QuotaSnapshotFile, as_of_text

FIGURE_COLUMNS = ("limit", "used", "enforcement")


@dataclass(frozen=True)
class QuotaFigures:
    """What a quota check needs from one row, as exact decimals."""

    limit: Decimal | None
    used: Decimal
    enforcement: str


@dataclass(frozen=True)
class QuotaIndex:
    generated_at: datetime
    as_of: str
    row_count: int
    account_count: int
    # account_id -> (header '{"account_id":...,"as_of":"..."' without its closing brace, first row,
    # row after the last): an account's rows are contiguous.
    _accounts: dict[str, tuple[str, int, int]]
    _metric_code: dict[str, int]
    _row_metric: list[int]
    # Each row's '"metric":...,"percent_used":...' without braces.
    _row_json: list[str]
    _figures: pa.Table

    def has_account(self, account_id: str) -> bool:
        return account_id in self._accounts

    def account_json(self, account_id: str) -> str | None:
        entry = self._accounts.get(account_id)
        if entry is None:
            return None
        header, start, stop = entry
        return header + ',"quotas":[{' + "},{".join(self._row_json[start:stop]) + "}]}"

    def quota_json(self, account_id: str, metric: str) -> str | None:
        found = self._row(account_id, metric)
        if found is None:
            return None
        header, row = found
        return header + "," + self._row_json[row] + "}"

    def figures(self, account_id: str, metric: str) -> QuotaFigures | None:
        found = self._row(account_id, metric)
        if found is None:
            return None
        return QuotaFigures(*(self._figures.column(c)[found[1]].as_py() for c in FIGURE_COLUMNS))

    def _row(self, account_id: str, metric: str) -> tuple[str, int] | None:
        """The account's header and the row of its quota for `metric`."""
        entry = self._accounts.get(account_id)
        code = self._metric_code.get(metric)
        if entry is None or code is None:
            return None
        header, start, stop = entry
        row_metric = self._row_metric
        for row in range(start, stop):
            if row_metric[row] == code:
                return header, row
        return None


def build_index(snapshot: QuotaSnapshotFile) -> QuotaIndex:
    """Index a snapshot that `read_quota_snapshot` validated (rows in account_id, metric order)."""
    rows = snapshot.rows
    metrics = rows["metric"].unique().sort()
    headers = (
        pl.concat([rows.select("account_id"), snapshot.serving], how="horizontal")
        .with_row_index("start")
        .filter(pl.col("serving_header").is_not_null())
        .select("account_id", "serving_header", "start", stop=pl.col("start").shift(-1, fill_value=rows.height))
    )
    return QuotaIndex(
        generated_at=snapshot.generated_at,
        as_of=as_of_text(snapshot.generated_at),
        row_count=rows.height,
        account_count=headers.height,
        _accounts=_account_entries(headers),
        _metric_code={name: code for code, name in enumerate(metrics.to_list())},
        _row_metric=_to_list(rows["metric"].replace_strict(metrics, pl.int_range(metrics.len(), eager=True))),
        _row_json=_to_list(snapshot.serving["serving_quota"]),
        _figures=rows.select(FIGURE_COLUMNS).to_arrow().combine_chunks(),
    )


# Python objects are made in slices of this many rows, so that while a reload runs in its thread
# the event loop gets the GIL back every few milliseconds.
SLICE_ROWS = 20_000


def _account_entries(headers: pl.DataFrame) -> dict[str, tuple[str, int, int]]:
    entries: dict[str, tuple[str, int, int]] = {}
    for part in headers.iter_slices(SLICE_ROWS):
        account_ids, *values = (part[c].to_list() for c in part.columns)
        entries.update(zip(account_ids, zip(*values)))
    return entries


def _to_list(series: pl.Series) -> list:
    values: list = []
    for start in range(0, series.len(), SLICE_ROWS):
        values.extend(series.slice(start, SLICE_ROWS).to_list())
    return values
