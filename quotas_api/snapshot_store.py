"""The served snapshot: loaded at start, reloaded when the file changes, never torn mid-request.

A reload reads and indexes the new file in a worker thread, then replaces one reference; a request
reads that reference once, so it sees the old snapshot or the new one, whole. A file that fails
validation leaves the last good snapshot in service and is reported (healthz, metrics, log) until a
good file replaces it.
"""

import logging
import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import anyio
import anyio.to_thread
from polars.exceptions import PanicException

from billing_pipeline.exchange.quota_snapshot import SnapshotError, read_quota_snapshot
from quotas_api.live_usage import LiveUsage
from quotas_api.metrics import ApiMetrics
from quotas_api.snapshot_index import QuotaIndex, build_index

log = logging.getLogger(__name__)

FileSignature = tuple[int, int, int, int]


@dataclass(frozen=True)
class LoadFailure:
    reason: str
    at: datetime


class SnapshotStore:
    def __init__(self, path: Path, metrics: ApiMetrics, stale_after_seconds: float,
                 live: LiveUsage | None = None) -> None:
        self.path = path
        self._live = live
        self.stale_after_seconds = stale_after_seconds
        self.current: QuotaIndex | None = None
        self.loaded_at: datetime | None = None
        self.last_load_seconds: float | None = None
        self.last_failure: LoadFailure | None = None
        self._metrics = metrics
        self._seen: FileSignature | None = None
        metrics.snapshot_age.set_function(lambda: self.age_seconds() if self.current else math.nan)

    def age_seconds(self) -> float | None:
        if self.current is None:
            return None
        return max(0.0, (datetime.now(UTC) - self.current.generated_at).total_seconds())

    @property
    def is_stale(self) -> bool:
        age = self.age_seconds()
        return age is not None and age > self.stale_after_seconds

    def refresh(self) -> bool:
        """Load the file if it changed since the last look; True when a new snapshot went live.

        Blocking: call it from a worker thread.
        """
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            signature = None
        else:
            signature = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if signature == self._seen and (signature is not None or self.last_failure is not None):
            return False
        self._seen = signature
        if signature is None:
            if self.current is None:
                self._fail(f"no snapshot file at {self.path} yet")
            else:
                self._fail(f"snapshot file {self.path} disappeared; serving the last good snapshot")
            return False
        started = time.perf_counter()
        try:
            index = build_index(read_quota_snapshot(self.path))
        except SnapshotError as exc:
            self._fail(str(exc))
            return False
        except (Exception, PanicException) as exc:
            # A file bad in a way validation did not foresee must still not take the service down.
            log.exception("unexpected error loading %s", self.path)
            self._fail(f"unexpected error loading {self.path.name}: {exc!r}")
            return False
        self.last_load_seconds = time.perf_counter() - started
        # With live counting, the counts of the files the new snapshot includes go in the same step.
        with self._live.swapping(index) if self._live else nullcontext():
            self.current = index
        self.loaded_at = datetime.now(UTC)
        self.last_failure = None
        self._metrics.snapshot_reloads.labels("loaded").inc()
        self._metrics.snapshot_rows.set(index.row_count)
        self._metrics.snapshot_load_seconds.set(self.last_load_seconds)
        log.info(
            "serving quota snapshot generated at %s: %d rows, %d accounts, loaded in %.3f s",
            index.as_of,
            index.row_count,
            index.account_count,
            self.last_load_seconds,
        )
        return True

    async def watch(self, interval_seconds: float) -> None:
        """Poll the file for changes until cancelled."""
        while True:
            await anyio.sleep(interval_seconds)
            try:
                await anyio.to_thread.run_sync(self.refresh)
            except Exception:
                # Whatever went wrong (a permission change, say), keep serving and keep watching.
                log.exception("checking %s for a new snapshot failed", self.path)

    def _fail(self, reason: str) -> None:
        self.last_failure = LoadFailure(reason=reason, at=datetime.now(UTC))
        self._metrics.snapshot_reloads.labels("rejected").inc()
        if self.current is None:
            log.error("no quota snapshot to serve: %s", reason)
        else:
            log.error("kept the snapshot generated at %s: %s", self.current.as_of, reason)
