"""Usage the API accepted that the served snapshot does not include yet, behind a small interface.

Counts are kept per intake file, so that when a new snapshot lists the files it includes, exactly
those files' counts are dropped (nothing twice, nothing lost). The embedded default keeps them in
this process (`InMemoryLiveCounters`): correct while one API worker accepts all events. Several
workers or machines need the counts and the accepted event ids in a shared store; that is another
class with the same methods (for Redis: the ids in a SET, whose SADD tells new from duplicate; per
intake file a hash of exact decimal counts, changed by a Lua script so a check-and-consume stays
atomic across workers), not a change to the API.
"""

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

ZERO = Decimal(0)


@dataclass(frozen=True)
class CountedEvent:
    event_id: str
    account_id: str
    metric: str
    period: str  # the UTC month the event occurred in, YYYY-MM
    day: str  # the UTC day it occurred on, YYYY-MM-DD
    quantity: Decimal


@dataclass(frozen=True)
class DayUsage:
    """One (metric, day)'s accepted events, in what each aggregation needs (sum, count, max)."""

    quantity: Decimal
    events: int
    peak: Decimal

    def plus(self, event: CountedEvent) -> "DayUsage":
        return DayUsage(self.quantity + event.quantity, self.events + 1, max(self.peak, event.quantity))


class LiveCounters(Protocol):
    def is_known(self, event_id: str) -> bool:
        """Whether an event with this id was accepted before (in the open period)."""

    def add(self, file: str, events: Iterable[CountedEvent], accepted_at: datetime) -> None:
        """Count events just written (durably) to intake file `file`."""

    def forget_files(self, files: Collection[str]) -> None:
        """Stop counting the files a new snapshot includes; their event ids stay known."""

    def used(self, account_id: str, metric: str, period: str) -> Decimal:
        """Usage accepted and not in the snapshot."""

    def by_day(self, account_id: str, period: str) -> dict[tuple[str, str], DayUsage]:
        """(metric, day) -> events accepted and not in the snapshot."""

    def live_through(self) -> datetime | None:
        """When the newest counted event was accepted."""


NO_USAGE = DayUsage(ZERO, 0, ZERO)
Key = tuple[str, str, str]  # account_id, metric, period


class InMemoryLiveCounters:
    """LiveCounters in this process's memory. Not thread-safe: the caller holds a lock."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._files: dict[str, list[CountedEvent]] = {}
        self._totals: dict[Key, Decimal] = defaultdict(Decimal)
        self._newest: datetime | None = None

    def is_known(self, event_id: str) -> bool:
        return event_id in self._ids

    def add(self, file: str, events: Iterable[CountedEvent], accepted_at: datetime) -> None:
        kept = self._files.setdefault(file, [])
        for event in events:
            self._ids.add(event.event_id)
            kept.append(event)
            self._totals[(event.account_id, event.metric, event.period)] += event.quantity
        if self._newest is None or accepted_at > self._newest:
            self._newest = accepted_at

    def forget_files(self, files: Collection[str]) -> None:
        for file in files:
            for event in self._files.pop(file, ()):
                key = (event.account_id, event.metric, event.period)
                self._totals[key] -= event.quantity
                if not self._totals[key]:
                    del self._totals[key]

    def used(self, account_id: str, metric: str, period: str) -> Decimal:
        return self._totals.get((account_id, metric, period), ZERO)

    def by_day(self, account_id: str, period: str) -> dict[tuple[str, str], DayUsage]:
        # A scan of the events not yet in a snapshot (at most a day's worth): usage answers are for
        # people, not the hot path, so no per-day index is kept for them.
        days: dict[tuple[str, str], DayUsage] = {}
        for events in self._files.values():
            for event in events:
                if event.account_id == account_id and event.period == period:
                    days[(event.metric, event.day)] = days.get((event.metric, event.day), NO_USAGE).plus(event)
        return days

    def live_through(self) -> datetime | None:
        return self._newest
