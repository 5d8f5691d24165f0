"""Group commit: requests that arrive while one is being processed wait, then are processed
together in one step.

Accepting posted events costs one judging query and one fsync per step whatever the step's size
(see event_judge.py), so under load one step for every request waiting amortises both; alone, a
request is processed at once, as before. Results are handed back to each request in order; an
exception in a step is raised to every request of that step.
"""

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Waiting(Generic[Item, Result]):
    item: Item
    done: bool = False
    result: Result | None = None
    error: BaseException | None = None


class GroupCommit(Generic[Item, Result]):
    def __init__(self, process: Callable[[list[Item]], Sequence[Result]]) -> None:
        self._process = process
        self._queue: list[_Waiting[Item, Result]] = []
        self._queued = threading.Lock()
        self._running = threading.Lock()

    def submit(self, item: Item) -> Result:
        """Process `item`, in a step with whatever else is waiting. Blocking."""
        waiting: _Waiting[Item, Result] = _Waiting(item)
        with self._queued:
            self._queue.append(waiting)
        with self._running:
            # The step before may have taken this request along; if not, this thread runs the next
            # step for everything queued by now.
            if not waiting.done:
                with self._queued:
                    group, self._queue = self._queue, []
                try:
                    results = self._process([w.item for w in group])
                except BaseException as exc:
                    for w in group:
                        w.error, w.done = exc, True
                else:
                    for w, result in zip(group, results, strict=True):
                        w.result, w.done = result, True
        if waiting.error is not None:
            raise waiting.error
        return waiting.result  # type: ignore[return-value]  # set with done
