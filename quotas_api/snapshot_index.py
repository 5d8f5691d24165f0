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
    # Each row's '"metric":...,"percent_used":...' without braces. Kept in Arrow rather than as
    # 800k Python strings: less memory, and no long hold of the GIL while loading.
    _row_json: pa.Array
    _figures: pa.Table

    def has_account(self, account_id: str) -> bool:
        return account_id in self._accounts

    def account_json(self, account_id: str) -> str | None:
        entry = self._accounts.get(account_id)
        if entry is None:
            return None
        header, start, stop = entry
        quotas = self._row_json.slice(start, stop - start).to_pylist()
        return header + ',"quotas":[{' + "},{".join(quotas) + "}]}"

    def quota_json(self, account_id: str, metric: str) -> str | None:
        row = self._row(account_id, metric)
        if row is None:
            return None
        return self._accounts[account_id][0] + "," + self._row_json[row].as_py() + "}"

    def figures(self, account_id: str, metric: str) -> QuotaFigures | None:
        row = self._row(account_id, metric)
        if row is None:
            return None
        return QuotaFigures(*(self._figures.column(c)[row].as_py() for c in FIGURE_COLUMNS))

    def _row(self, account_id: str, metric: str) -> int | None:
        entry = self._accounts.get(account_id)
        code = self._metric_code.get(metric)
        if entry is None or code is None:
            return None
        row_metric = self._row_metric
        for row in range(entry[1], entry[2]):
            if row_metric[row] == code:
                return row
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
        _row_metric=rows["metric"].replace_strict(metrics, pl.int_range(metrics.len(), eager=True)).to_list(),
        _row_json=snapshot.serving["serving_quota"].to_arrow(),
        _figures=rows.select(FIGURE_COLUMNS).to_arrow().combine_chunks(),
    )


def _account_entries(headers: pl.DataFrame) -> dict[str, tuple[str, int, int]]:
    entries: dict[str, tuple[str, int, int]] = {}
    # In slices, so that the event loop gets the GIL back between them while a reload runs.
    for part in headers.iter_slices(10_000):
        account_ids, *values = (part[c].to_list() for c in part.columns)
        entries.update(zip(account_ids, zip(*values)))
    return entries
