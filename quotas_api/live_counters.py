"""Usage the API accepted that the served snapshot does not include yet, behind a small interface.

Counts are kept per intake file, so that when a new snapshot lists the files it includes, exactly
those files' counts are dropped (nothing twice, nothing lost). How the counted events move a
metric's quantity is live_quantity.py's rule. The embedded default keeps them in this process
(`InMemoryLiveCounters`): correct while one API worker accepts all events. Several workers or
machines need the counts and the accepted event ids in a shared store; that is another class with
the same methods (for Redis: the ids in a SET, whose SADD tells new from duplicate; per intake file
a hash of exact decimal sums, event counts and peaks, and a SET of counted values per unique_count
metric, changed by a Lua script so a check-and-consume stays atomic across workers), not a change
to the API.
"""

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Protocol

from quotas_api.live_quantity import CountedEvent, LiveQuantity

Key = tuple[str, str, str]  # account_id, metric, period


class LiveCounters(Protocol):
    def is_known(self, event_id: str) -> bool:
        """Whether an event with this id was accepted before (in the open period)."""

    def add(self, file: str, events: Iterable[CountedEvent], accepted_at: datetime) -> None:
        """Count events just written (durably) to intake file `file`."""

    def forget_files(self, files: Collection[str]) -> None:
        """Stop counting the files a new snapshot includes; their event ids stay known."""

    def live(self, account_id: str, metric: str, period: str) -> LiveQuantity | None:
        """Usage accepted and not in the snapshot (None: none). The caller does not change it."""

    def by_day(self, account_id: str, period: str) -> dict[tuple[str, str], LiveQuantity]:
        """(metric, day) -> events accepted and not in the snapshot."""

    def live_through(self) -> datetime | None:
        """When the newest counted event was accepted."""


class InMemoryLiveCounters:
    """LiveCounters in this process's memory. Not thread-safe: the caller holds a lock."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._files: dict[str, list[CountedEvent]] = {}
        # Per file and in total: a max or a set of values cannot be taken back out of a total, so
        # forgetting files re-adds the remaining files' figures for the keys they touched.
        self._file_totals: dict[str, dict[Key, LiveQuantity]] = {}
        self._totals: dict[Key, LiveQuantity] = {}
        self._newest: datetime | None = None

    def is_known(self, event_id: str) -> bool:
        return event_id in self._ids

    def add(self, file: str, events: Iterable[CountedEvent], accepted_at: datetime) -> None:
        kept = self._files.setdefault(file, [])
        added: dict[Key, LiveQuantity] = {}  # the events per key first: one merge per key below
        for event in events:
            self._ids.add(event.event_id)
            kept.append(event)
            key = (event.account_id, event.metric, event.period)
            if key not in added:
                added[key] = LiveQuantity(event.aggregation)
            added[key].add(event)
        for totals in (self._file_totals.setdefault(file, {}), self._totals):
            for key, live in added.items():
                if key in totals:
                    totals[key].merge(live)
                else:
                    totals[key] = live.copy()
        if self._newest is None or accepted_at > self._newest:
            self._newest = accepted_at

    def forget_files(self, files: Collection[str]) -> None:
        touched: set[Key] = set()
        for file in files:
            self._files.pop(file, None)
            touched.update(self._file_totals.pop(file, {}))
        for key in touched:
            del self._totals[key]
        for file_totals in self._file_totals.values():
            for key in touched & file_totals.keys():
                if key not in self._totals:
                    self._totals[key] = file_totals[key].copy()
                else:
                    self._totals[key].merge(file_totals[key])

    def live(self, account_id: str, metric: str, period: str) -> LiveQuantity | None:
        return self._totals.get((account_id, metric, period))

    def by_day(self, account_id: str, period: str) -> dict[tuple[str, str], LiveQuantity]:
        # A scan of the events not yet in a snapshot (at most a day's worth): usage answers are for
        # people, not the hot path, so no per-day index is kept for them.
        days: dict[tuple[str, str], LiveQuantity] = {}
        for events in self._files.values():
            for event in events:
                if event.account_id == account_id and event.period == period:
                    days.setdefault((event.metric, event.day), LiveQuantity(event.aggregation)).add(event)
        return days

    def live_through(self) -> datetime | None:
        return self._newest
