"""A served snapshot (the quota snapshot, the usage snapshot): loaded at start, reloaded when the
file changes, never torn mid-request.

A reload reads and indexes the new file in a worker thread, then replaces one reference; a request
reads that reference once, so it sees the old snapshot or the new one, whole. A file that fails
validation leaves the last good snapshot in service and is reported (healthz, metrics, log) until a
good file replaces it.
"""

import logging
import math
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from polars.exceptions import PanicException

from billing_pipeline.exchange.quota_snapshot import SnapshotError
from quotas_api.metrics import ApiMetrics

log = logging.getLogger(__name__)

FileSignature = tuple[int, int, int, int]


class Snapshot(Protocol):
    @property
    def generated_at(self) -> datetime: ...
    @property
    def as_of(self) -> str: ...
    @property
    def row_count(self) -> int: ...
    @property
    def account_count(self) -> int: ...


S = TypeVar("S", bound=Snapshot)


@dataclass(frozen=True)
class LoadFailure:
    reason: str
    at: datetime


class SnapshotStore(Generic[S]):
    """`load(path)` reads and indexes the file (SnapshotError: not fit to serve). `swapping(new)`, when
    given, wraps the step that puts a new snapshot in service (live counting: see LiveUsage.swapping).
    The quota snapshot's store reports to `metrics`."""

    def __init__(self, path: Path, load: Callable[[Path], S], stale_after_seconds: float,
                 metrics: ApiMetrics | None = None,
                 swapping: Callable[[S], AbstractContextManager[None]] | None = None) -> None:
        self.path = path
        self._load = load
        self._swapping = swapping
        self.stale_after_seconds = stale_after_seconds
        self.current: S | None = None
        self.loaded_at: datetime | None = None
        self.last_load_seconds: float | None = None
        self.last_failure: LoadFailure | None = None
        self._metrics = metrics
        self._seen: FileSignature | None = None
        if metrics:
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
            index = self._load(self.path)
        except SnapshotError as exc:
            self._fail(str(exc))
            return False
        except (Exception, PanicException) as exc:
            # A file bad in a way validation did not foresee must still not take the service down.
            log.exception("unexpected error loading %s", self.path)
            self._fail(f"unexpected error loading {self.path.name}: {exc!r}")
            return False
        self.last_load_seconds = time.perf_counter() - started
        with self._swapping(index) if self._swapping else nullcontext():
            self.current = index
        self.loaded_at = datetime.now(UTC)
        self.last_failure = None
        if self._metrics:
            self._metrics.snapshot_reloads.labels("loaded").inc()
            self._metrics.snapshot_rows.set(index.row_count)
            self._metrics.snapshot_load_seconds.set(self.last_load_seconds)
        log.info(
            "serving %s generated at %s: %d rows, %d accounts, loaded in %.3f s",
            self.path.name,
            index.as_of,
            index.row_count,
            index.account_count,
            self.last_load_seconds,
        )
        return True

    def _fail(self, reason: str) -> None:
        self.last_failure = LoadFailure(reason=reason, at=datetime.now(UTC))
        if self._metrics:
            self._metrics.snapshot_reloads.labels("rejected").inc()
        if self.current is None:
            log.error("no %s to serve: %s", self.path.name, reason)
        else:
            log.error("kept the snapshot generated at %s: %s", self.current.as_of, reason)
