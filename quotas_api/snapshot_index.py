"""A loaded snapshot arranged so a request does no serialisation.

Response bodies are joined from the JSON fragments the snapshot file carries (an account's header,
each quota's figures): a lookup is two dict hits and a bytes join, which is what keeps a lookup
close to a route returning a constant body. The 800k quota fragments stay in the one Arrow buffer
they were read into, addressed by its offsets: no Python object per row, so a reload builds only
the per-account dict and holds the GIL for milliseconds at a time.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa

from billing_pipeline.exchange.quota_snapshot import (QuotaSnapshotFile, SnapshotError, as_of_text, read_quota_snapshot,
                                                      render_quota)
from quotas_api.live_quantity import LiveQuantity

FIGURE_COLUMNS = ("limit", "used", "enforcement", "account_status", "included", "period", "period_end")
# Usage accepted since the snapshot for (account_id, metric, period), None when none: the live counters'.
LiveUsed = Callable[[str, str, str], LiveQuantity | None]
# Python objects are made in slices of this many accounts, so that while a reload runs in its
# thread the event loop gets the GIL back every few milliseconds.
SLICE_ROWS = 20_000
# Metric codes become characters; UTF-32 has no characters from the surrogates on.
FIRST_SURROGATE = 0xD800


@dataclass(frozen=True)
class QuotaFigures:
    """What a quota check needs from one row, as exact decimals."""

    limit: Decimal | None
    used: Decimal
    enforcement: str
    account_status: str
    # Defaults for figures made by hand (tests): a snapshot row always has all three.
    included: Decimal = Decimal(0)
    period: str = ""
    period_end: date | None = None

    def moved_on(self, live: LiveQuantity | None) -> "QuotaFigures":
        """These figures with the usage accepted since the snapshot (live_quantity.py's rule)."""
        return self if live is None else replace(self, used=live.moved_on(self.used))


@dataclass(frozen=True)
class QuotaIndex:
    generated_at: datetime
    as_of: str
    included_files: frozenset[str]
    row_count: int
    account_count: int
    # account_id -> (header b'{"account_id":...,"as_of":"..."' without its closing brace, first row,
    # row after the last): an account's rows are contiguous.
    _accounts: dict[str, tuple[bytes, int, int]]
    # Row i's metric is _row_metric[i], one character per row (its code point is the metric's
    # index), so finding an account's row for a metric is one str.find over the account's rows.
    _metric_char: dict[str, str]
    _metric_names: tuple[str, ...]
    _row_metric: str
    # Row i's b'"metric":...,"percent_used":...' (no braces) is _row_json[_row_offset[i]:_row_offset[i + 1]].
    _row_json: memoryview
    _row_offset: memoryview
    _figures: pa.Table

    def has_account(self, account_id: str) -> bool:
        return account_id in self._accounts

    def account_json(self, account_id: str, live: LiveUsed, header_tail: bytes) -> bytes | None:
        """The account's answer with `header_tail` (more header fields) after its header, its figures
        moved on by `live`."""
        entry = self._accounts.get(account_id)
        if entry is None:
            return None
        header, start, stop = entry
        quotas = b"},{".join([self._quota(account_id, row, live) for row in range(start, stop)])
        return header + header_tail + b',"quotas":[{' + quotas + b"}]}"

    def quota_json(self, account_id: str, metric: str, live: LiveUsed, header_tail: bytes) -> bytes | None:
        found = self._row(account_id, metric)
        if found is None:
            return None
        header, row = found
        return b"".join((header, header_tail, b",", self._quota(account_id, row, live), b"}"))

    def figures(self, account_id: str, metric: str) -> QuotaFigures | None:
        """The snapshot's figures (without live usage)."""
        found = self._row(account_id, metric)
        return None if found is None else self._row_figures(found[1])

    def account_figures(self, account_id: str) -> list[tuple[str, QuotaFigures]]:
        """(metric, snapshot figures) of each of the account's quotas."""
        entry = self._accounts.get(account_id)
        if entry is None:
            return []
        _header, start, stop = entry
        return [(self._metric_names[ord(self._row_metric[row])], self._row_figures(row)) for row in range(start, stop)]

    def _row_figures(self, row: int) -> QuotaFigures:
        return QuotaFigures(*(self._figures.column(c)[row].as_py() for c in FIGURE_COLUMNS))

    def _quota(self, account_id: str, row: int, live: LiveUsed) -> memoryview | bytes:
        metric = self._metric_names[ord(self._row_metric[row])]
        added = live(account_id, metric, self._figures.column("period")[row].as_py())
        if added is None:
            # Nothing accepted since the snapshot: the figures as the file rendered them.
            return self._row_json[self._row_offset[row] : self._row_offset[row + 1]]
        figures = self._row_figures(row).moved_on(added)
        return render_quota(metric, figures.enforcement, figures.included, figures.limit, figures.used)

    def _row(self, account_id: str, metric: str) -> tuple[bytes, int] | None:
        """The account's header and the row of its quota for `metric`."""
        entry = self._accounts.get(account_id)
        char = self._metric_char.get(metric)
        if entry is None or char is None:
            return None
        header, start, stop = entry
        row = self._row_metric.find(char, start, stop)
        return None if row < 0 else (header, row)


def build_index(snapshot: QuotaSnapshotFile) -> QuotaIndex:
    """Index a snapshot that `read_quota_snapshot` validated (rows in account_id, metric order)."""
    rows = snapshot.rows
    metrics = rows["metric"].unique().sort()
    headers = (
        pl.concat([rows.select("account_id"), snapshot.serving], how="horizontal")
        .with_row_index("start")
        .filter(pl.col("serving_header").is_not_null())
        .select(
            "account_id",
            pl.col("serving_header").cast(pl.Binary),
            "start",
            stop=pl.col("start").shift(-1, fill_value=rows.height),
        )
    )
    if metrics.len() >= FIRST_SURROGATE:
        raise SnapshotError(f"{metrics.len()} distinct metrics; the index holds at most {FIRST_SURROGATE - 1}")
    codes = pl.int_range(metrics.len(), eager=True)
    metric_codes = rows["metric"].replace_strict(metrics, codes, return_dtype=pl.UInt32).to_numpy()
    # Offset-addressed strings (large_string), not the string views polars holds by default.
    fragments = snapshot.serving["serving_quota"].to_arrow(compat_level=pl.CompatLevel.oldest())
    _validity, offsets, data = fragments.buffers()
    return QuotaIndex(
        generated_at=snapshot.generated_at,
        as_of=as_of_text(snapshot.generated_at),
        included_files=snapshot.included_files,
        row_count=rows.height,
        account_count=headers.height,
        _accounts=_account_entries(headers),
        _metric_char={name: chr(code) for code, name in enumerate(metrics.to_list())},
        _metric_names=tuple(metrics.to_list()),
        _row_metric=metric_codes.astype("<u4").tobytes().decode("utf-32-le"),
        _row_json=memoryview(data) if data is not None else memoryview(b""),
        _row_offset=memoryview(offsets).cast("q")[fragments.offset :],
        _figures=rows.select(FIGURE_COLUMNS).to_arrow().combine_chunks(),
    )


def _account_entries(headers: pl.DataFrame) -> dict[str, tuple[bytes, int, int]]:
    entries: dict[str, tuple[bytes, int, int]] = {}
    for part in headers.iter_slices(SLICE_ROWS):
        account_ids, *values = (part[c].to_list() for c in part.columns)
        entries.update(zip(account_ids, zip(*values)))
    return entries


def load_quota_index(path: Path) -> QuotaIndex:
    """The quota snapshot file at `path`, read, validated and indexed (SnapshotError: unfit to serve)."""
    return build_index(read_quota_snapshot(path))
