"""Quota figures current to the last accepted event: the snapshot plus what the API accepted since.

Two locks, so that a lookup never waits for a disk:
- `_counting` guards the live counters and the served snapshot together: a lookup reads both under
  it, and a new snapshot goes live under it in the same step that drops the counts of the files it
  includes. A lookup so sees the old snapshot with the old counts or the new one with the new
  counts, never a mix (nothing counted twice, nothing dropped).
- `_writing` serialises everything that accepts events (posted batches, check-and-consume): the
  duplicate check, the fsynced append and the count happen as one step, so a check-and-consume
  decides on figures no other request can change before its event is counted.
Both are thread locks: accepting runs in threads (the group commit's for posted batches, a worker
thread for check-and-consume; fsync blocks), lookups on the event loop.
"""

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from billing_pipeline.exchange.event_intake import IntakeLog, intake_files, recover, rel_name
from billing_pipeline.exchange.quota_snapshot import as_of_text, json_number
from billing_pipeline.lib.periods import month_start
from quotas_api.api_keys import ApiKey
from quotas_api.event_judge import EventJudge, Judged
from quotas_api.group_commit import GroupCommit
from quotas_api.live_counters import LiveCounters
from quotas_api.live_quantity import CountedEvent, LiveQuantity
from quotas_api.quota_check import CheckOutcome, check_quota
from quotas_api.snapshot_index import LiveUsed, QuotaFigures, QuotaIndex

log = logging.getLogger(__name__)

# Group-commit steps run this much below normal CPU priority: on a busy machine lookups, answered
# on the event loop, get a core before judging does (measured: docs/quota-api.md, Intake).
INTAKE_NICE = 10


@dataclass(frozen=True)
class Rejected:
    index: int
    event_id: str | None
    reason: str
    detail: str


@dataclass(frozen=True)
class IntakeResult:
    accepted: int
    duplicates: int
    rejected: list[Rejected]


@dataclass(frozen=True)
class Consumed:
    figures: QuotaFigures  # before this use
    outcome: CheckOutcome
    consumed: bool  # this call recorded the usage
    duplicate: bool  # the event id was accepted before: nothing new recorded


class LiveUsage:
    def __init__(self, landing_usage: Path, judge: EventJudge, counters: LiveCounters, intake: IntakeLog,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.landing_usage = landing_usage
        self.judge = judge
        self.counters = counters
        self.intake = intake
        self.clock = clock
        self.index: QuotaIndex | None = None
        self._counting = threading.Lock()
        self._writing = threading.Lock()
        self._accepting = GroupCommit(self._accept_group, nice=INTAKE_NICE)

    # --- snapshot swaps and start-up -------------------------------------------------------------

    @contextmanager
    def swapping(self, index: QuotaIndex) -> Iterator[None]:
        """Put `index` in service (the caller's block, e.g. the store's own reference) atomically
        with forgetting the counts it now includes."""
        with self._counting:
            self.counters.forget_files(index.included_files)
            self.index = index
            yield

    def rebuild(self) -> int:
        """At start: finish in-flight files a stopped process left, then count every intake file
        of the open period (and know its ids) that the served snapshot does not include.
        Returns the number of events known. Blocking: call from a thread before serving."""
        recovered = recover(self.landing_usage)
        if recovered:
            log.warning("recovered %d in-flight intake file(s) left by a stopped process: %s",
                        len(recovered), ", ".join(recovered))
        # The day before the month: its folder may hold this month's first events (late tolerance).
        first_day = date.fromordinal(month_start(self.clock().date()).toordinal() - 1)
        known = 0
        for path in intake_files(self.landing_usage, first_day):
            texts = path.read_text().splitlines()
            judged = self.judge.judge(texts, date.fromisoformat(path.parent.name))
            events = [_counted(j) for j in judged if j.reason is None]
            accepted_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            rel = rel_name(self.landing_usage, path)
            with self._counting:
                self.counters.add(rel, events, accepted_at)
                if self.index is not None:
                    self.counters.forget_files({rel} & self.index.included_files)
            known += len(events)
        return known

    # --- reading --------------------------------------------------------------------------------

    def read(self, answer: Callable[[QuotaIndex, LiveUsed, bytes], bytes | None], index: QuotaIndex) -> bytes | None:
        """`answer(index, live_used, header_tail)` with the snapshot and the counts of one moment."""
        with self._counting:
            current = self.index or index
            return answer(current, self.counters.live, self._header_tail())

    def live_figures(self, account_id: str, metric: str, index: QuotaIndex) -> QuotaFigures | None:
        with self._counting:
            return self._figures(self.index or index, account_id, metric)

    def account_days(self, account_id: str, period: str) -> tuple[QuotaIndex | None, dict[tuple[str, str], LiveQuantity],
                                                                  str | None]:
        """(served quota snapshot, per (metric, day) the events it does not include, live_through) of one moment."""
        with self._counting:
            return self.index, self.counters.by_day(account_id, period), self._live_through()

    def live_through(self) -> str | None:
        with self._counting:
            return self._live_through()

    # --- accepting --------------------------------------------------------------------------------

    def accept(self, texts: list[str], key: ApiKey) -> IntakeResult:
        """Judge posted events, write the new valid ones durably, count them. Blocking: run in a thread.
        Requests arriving meanwhile are accepted together, one query and one fsync for all."""
        return self._accepting.submit((texts, key))

    def _accept_group(self, requests: list[tuple[list[str], ApiKey]]) -> list[IntakeResult]:
        """Each request as if accepted alone, one after another, in one judging query and one write."""
        judged = self.judge.judge([text for texts, _ in requests for text in texts], self.clock().date())
        results, lines, events, start, seen = [], [], [], 0, set()
        with self._writing:
            for texts, key in requests:
                part = judged[start:start + len(texts)]  # index - start: the event's index in its request
                rejected = [Rejected(j.index - start, j.event_id, j.reason, j.detail or j.reason) for j in part if j.reason]
                valid = []
                for j in part:
                    if j.reason is None and not key.may_read(j.account_id):
                        rejected.append(Rejected(j.index - start, j.event_id, "account_not_allowed",
                                                 f"this API key may post events of account {key.account_id!r} only"))
                    elif j.reason is None:
                        valid.append(j)
                fresh = []
                with self._counting:
                    for j in valid:
                        if j.event_id not in seen and not self.counters.is_known(j.event_id):
                            fresh.append(j)
                        seen.add(j.event_id)
                lines += [_line(texts[j.index - start]) for j in fresh]
                events += [_counted(j) for j in fresh]
                results.append(IntakeResult(len(fresh), len(valid) - len(fresh), sorted(rejected, key=lambda r: r.index)))
                start += len(texts)
            if lines:
                self._write(lines, events)
        return results

    def consume(self, key: ApiKey, account_id: str, metric: str, quantity: Decimal, event_id: str,
                index: QuotaIndex) -> Consumed | None:
        """Check the limit and, when allowed, record the use as an accepted event, in one step.
        The amount checked is what the event raises the metric's quantity by (live_quantity.py: a
        count metric 1 per event, a max metric the rise of its peak). None when the account or
        metric is not in the snapshot. Blocking: run in a thread."""
        now = self.clock()
        text = json.dumps({"event_id": event_id, "account_id": account_id, "metric": metric,
                           "occurred_at": as_of_text(now)})[:-1] + f', "quantity": {json_number(quantity)}}}'
        [judged] = self.judge.judge([text], now.date())
        if judged.aggregation == "unique_count":
            raise NotConsumable(metric)
        with self._writing:
            with self._counting:
                snapshot = (self.index or index).figures(account_id, metric)
                live = self.counters.live(account_id, metric, snapshot.period) if snapshot else None
                duplicate = self.counters.is_known(event_id)
            if snapshot is None:
                return None
            figures = snapshot.moved_on(live)
            if judged.reason is None:
                event = _counted(judged)
                quantity = (live or LiveQuantity(event.aggregation)).rise(snapshot.used, event)
            outcome = check_quota(figures, quantity)
            if duplicate or not outcome.allowed:
                return Consumed(figures, outcome, consumed=False, duplicate=duplicate)
            if judged.reason is not None:
                raise EventRefused(judged.reason, judged.detail or judged.reason)
            self._write([text.encode()], [_counted(judged)])
            return Consumed(figures, outcome, consumed=True, duplicate=False)

    def close(self) -> None:
        self._accepting.close()
        with self._writing:
            self.intake.rotate()

    def rotate_if_due(self) -> None:
        with self._writing:
            self.intake.rotate_if_due(self.clock())

    def _write(self, lines: list[bytes], events: list[CountedEvent]) -> None:
        # The clock read here, under the write lock, so files are written in time order. Judging
        # (before) may have used an earlier day: a later landing day only allows more.
        now = self.clock()
        file = self.intake.append(lines, now)
        with self._counting:
            self.counters.add(file, events, now)

    def _figures(self, index: QuotaIndex, account_id: str, metric: str) -> QuotaFigures | None:
        figures = index.figures(account_id, metric)
        return None if figures is None else figures.moved_on(self.counters.live(account_id, metric, figures.period))

    def _header_tail(self) -> bytes:
        return b',"live_through":' + json.dumps(self._live_through()).encode()

    def _live_through(self) -> str | None:
        newest = self.counters.live_through()
        return as_of_text(newest) if newest else None


class NotConsumable(Exception):
    """A unique_count metric: it counts distinct values of a field a check does not carry."""

    def __init__(self, metric: str) -> None:
        super().__init__(f"{metric} counts distinct values (unique_count), which a check does not carry: "
                         "post the event with its counted field to /v1/events instead")


class EventRefused(Exception):
    """A consumed use whose event breaks the event contract (e.g. a metric not in the catalog)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _counted(judged: Judged) -> CountedEvent:
    day = judged.day
    assert day and judged.event_id and judged.account_id and judged.metric and judged.aggregation
    return CountedEvent(judged.event_id, judged.account_id, judged.metric, day[:7], day, judged.quantity,
                        judged.aggregation, judged.value)


def _line(text: str) -> bytes:
    # JSON strings hold no raw line breaks, so any in the text are blanks between tokens.
    return text.replace("\r", " ").replace("\n", " ").encode()
