"""How events the API accepted since the snapshot move a metric's quantity: the one home of that rule,
used by quota answers, checks, check-and-consume and usage answers alike.

Rating aggregates a metric's events by the catalog's aggregation (dbt_project/macros/aggregation.sql);
live events are added to the snapshot's figure the same way:
- sum: the snapshot's quantity + the events' quantities;
- count: + one per event, whatever its quantity;
- max: the larger of the snapshot's peak and the events' peak (a peak, not a sum);
- unique_count: + the distinct values among the events (the field the catalog names, e.g. user_id;
  an event without one counts nothing, as in rating). The API does not hold the period's values
  (only rating has them), so a value the snapshot already counted is counted again: the figure may
  over-count until the next snapshot, never under-count, so a hard limit is never passed silently
  (at worst a use is refused early).
"""

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)
NO_VALUES: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CountedEvent:
    event_id: str
    account_id: str
    metric: str
    period: str  # the UTC month the event occurred in, YYYY-MM
    day: str  # the UTC day it occurred on, YYYY-MM-DD
    quantity: Decimal
    aggregation: str  # the metric's aggregation in the catalog the event was judged by
    value: str | None = None  # unique_count: the value the metric counts (None: counts nothing)


@dataclass
class LiveQuantity:
    """Events of one metric accepted since the snapshot, in what each aggregation needs. Mutable:
    the live counters grow one under their caller's lock."""

    aggregation: str
    quantity: Decimal = ZERO
    events: int = 0
    peak: Decimal = ZERO
    # unique_count's distinct values. No set until a value comes: the live counters keep several
    # of these per account x metric x day, and every set is one more object for each full garbage
    # collection to walk while all threads wait.
    values: AbstractSet[str] = NO_VALUES

    def add(self, event: CountedEvent) -> None:
        self.quantity += event.quantity
        self.events += 1
        self.peak = max(self.peak, event.quantity)
        if event.value is not None:
            self._values().add(event.value)

    def merge(self, other: "LiveQuantity") -> None:
        self.quantity += other.quantity
        self.events += other.events
        self.peak = max(self.peak, other.peak)
        if other.values:
            self._values().update(other.values)

    def copy(self) -> "LiveQuantity":
        return LiveQuantity(self.aggregation, self.quantity, self.events, self.peak,
                            set(self.values) if self.values else NO_VALUES)

    def _values(self) -> set[str]:
        if not isinstance(self.values, set):
            self.values = set()
        return self.values

    def moved_on(self, snapshot: Decimal) -> Decimal:
        """The metric's quantity: the snapshot's `snapshot` with these events added."""
        if self.aggregation == "count":
            return snapshot + self.events
        if self.aggregation == "max":
            return max(snapshot, self.peak)
        if self.aggregation == "unique_count":
            return snapshot + len(self.values)  # may over-count: see the module docstring
        return snapshot + self.quantity

    def rise(self, snapshot: Decimal, event: CountedEvent) -> Decimal:
        """How much `event` would raise the quantity (what a check-and-consume checks against the limit)."""
        after = self.copy()
        after.add(event)
        return after.moved_on(snapshot) - self.moved_on(snapshot)

