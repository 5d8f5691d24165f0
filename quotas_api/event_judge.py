"""Events posted over HTTP judged by the raw event contract: the ingestion's own rules
(billing_pipeline/lib/ingest/event_rules.py) on an in-memory DuckDB holding the catalog.

The cost of judging is DuckDB planning the rules' query (about 15-20 ms on this 2-core machine, the
same for 1 or 1,000 lines; running it on 100 lines is about 1 ms), and this DuckDB plans again on
every run, prepared or not. So the query text is built once, the texts reach it as one list
parameter (no relation registered, no helper registered, no catalog scan per call), and callers
judge many requests in one query (LiveUsage's group commit).
This connection runs without DuckDB's optimizer and on one thread: for a few thousand lines
planning costs more than the optimizer saves, and the API shares the machine's cores with its
event loop (measured in the same session, judging 100 / 1,600 lines: 42 / 71 ms with both, 31 / 60
ms without; tests/quotas_api judge through this connection). The rules and their results are the
same: an optimizer only changes how a query runs.

An event accepted here therefore passes ingestion when its intake file lands (same rules, same
catalog, same landing day: the API writes each event to today's UTC folder and judges it with that
day's latest allowed occurred_at).
"""

import logging
import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from billing_pipeline.lib.ingest.catalog import UNIQUE_COUNT_FIELDS, CatalogError, read_catalog, write_catalog
from billing_pipeline.lib.ingest.event_rules import json_fields_sql, judge_sql, prepare
from billing_pipeline.lib.ingest.usage_events import DEFAULT_LATE_TOLERANCE_HOURS, latest_allowed

log = logging.getLogger(__name__)

# The event fields a unique_count metric may count, in the order JUDGE_POSTED selects them.
COUNTED_FIELDS = tuple(sorted(UNIQUE_COUNT_FIELDS))

# The posted texts as the lines relation the rules read, from the list parameter $texts.
POSTED_LINES = ("(SELECT generate_subscripts($texts, 1) - 1 AS line_number, unnest($texts) AS raw_text, "
                "NULL::VARCHAR AS line_error)")
# The UTC day as text from DuckDB: formatting it there is cheaper than a datetime per event here.
JUDGE_POSTED = (f"SELECT line_number, event_id, account_id, metric, quantity, strftime(occurred_at, '%Y-%m-%d'), "
                f"reason, detail, "
                f"{', '.join(COUNTED_FIELDS)} "
                f"FROM ({judge_sql(json_fields_sql(POSTED_LINES), '$latest::TIMESTAMP')}) ORDER BY line_number")


@dataclass(frozen=True)
class Judged:
    """One posted event: typed when valid (reason None), else the rule it breaks."""

    index: int
    event_id: str | None
    account_id: str | None
    metric: str | None
    quantity: Decimal
    day: str | None  # the UTC day it occurred on, YYYY-MM-DD
    reason: str | None
    detail: str | None
    # When valid: the metric's aggregation in the catalog, and for unique_count the value it counts.
    aggregation: str | None = None
    value: str | None = None


class CatalogUnavailable(Exception):
    """No catalog to judge events against yet: the message says why."""


class EventJudge:
    def __init__(self, catalog_dir: Path, late_tolerance_hours: int = DEFAULT_LATE_TOLERANCE_HOURS) -> None:
        self.catalog_dir = catalog_dir
        self.late_tolerance_hours = late_tolerance_hours
        self._db = duckdb.connect(":memory:", config={"threads": 1})
        prepare(self._db)
        self._cursor = self._db.cursor()
        self._cursor.execute("SET TimeZone = 'UTC'")
        self._cursor.execute("PRAGMA disable_optimizer")  # see the module docstring
        self._judging = threading.Lock()  # one query at a time on the cursor
        self._seen: tuple | None = None
        self._metrics: dict[str, tuple[str, str | None]] = {}  # metric -> (aggregation, unique_count field)
        self.loaded = False
        self.problem: str | None = None
        self._loading = threading.Lock()

    def refresh(self) -> bool:
        """(Re)load the catalog when its files changed; True when loaded. A catalog that is missing or
        refused leaves the last good one in force (and until there is one, events are refused with
        503: lookups go on). Blocking: run in a thread."""
        with self._loading:
            signature = _signature(self.catalog_dir)
            if signature == self._seen:
                return False
            self._seen = signature
            try:
                catalog = read_catalog(self.catalog_dir)
            except CatalogError as exc:
                self.problem = str(exc)
                log.error("cannot judge events against the catalog in %s: %s", self.catalog_dir, exc)
                return False
            write_catalog(self._db, catalog)
            self._metrics = {m["metric_code"]: (m["aggregation"], m["field"])
                             for m in catalog.tables["metrics"].iter_rows(named=True)}
            self.loaded = True
            self.problem = None
            log.info("judging events against the catalog in %s (%d accounts)", self.catalog_dir,
                     len(catalog.account_ids))
            return True

    def judge(self, texts: list[str], landing_day: date) -> list[Judged]:
        """Judge each JSON text (one event each) as a line of a file landed on `landing_day`."""
        if not self.loaded:
            raise CatalogUnavailable(self.problem or f"no catalog in {self.catalog_dir}")
        if not texts:
            return []
        latest = latest_allowed(landing_day, self.late_tolerance_hours)
        with self._judging:
            rows = self._cursor.execute(JUDGE_POSTED, {"texts": texts, "latest": latest}).fetchall()
            metrics = self._metrics
        judged = []
        for index, event_id, account_id, metric, quantity, day, reason, detail, *fields in rows:
            aggregation, field = metrics.get(metric, (None, None)) if reason is None else (None, None)
            value = dict(zip(COUNTED_FIELDS, fields)).get(field) if field else None
            judged.append(Judged(index, event_id, account_id, metric, quantity, day, reason, detail, aggregation, value))
        return judged


def _signature(folder: Path) -> tuple:
    if not folder.is_dir():
        return ()
    return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.iterdir() if p.is_file()))
