"""Group commit: requests that arrive while one is being processed wait, then are processed
together in one step.

Accepting posted events costs one judging query and one fsync per step whatever the step's size
(see event_judge.py), so under load one step for every request waiting amortises both; alone, a
request is processed at once, as before. Results are handed back to each request in order; an
exception in a step is raised to every request of that step.

Steps run on one thread of their own, which takes everything queued, processes it and wakes each
request of the step as soon as it ends (a request that queued for a lock behind the next step
instead, as before, sat out every other step: steps stayed at ~200 events with 8-16 requests in
flight). On Linux that thread runs at a lower CPU priority (`nice`), so that on a busy machine the
event loop answering lookups gets a core before the step's judging does.
"""

import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Waiting(Generic[Item, Result]):
    item: Item
    done: threading.Event = field(default_factory=threading.Event)
    result: Result | None = None
    error: BaseException | None = None


class GroupCommit(Generic[Item, Result]):
    def __init__(self, process: Callable[[list[Item]], Sequence[Result]], nice: int = 0) -> None:
        self._process = process
        self._nice = nice
        self._queue: list[_Waiting[Item, Result]] = []
        self._queued = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, item: Item) -> Result:
        """Process `item`, in a step with whatever else is waiting. Blocking."""
        waiting: _Waiting[Item, Result] = _Waiting(item)
        with self._queued:
            if self._closed:
                raise RuntimeError("the group commit is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                self._thread.start()
            self._queue.append(waiting)
            self._queued.notify()
        waiting.done.wait()
        if waiting.error is not None:
            raise waiting.error
        return waiting.result  # type: ignore[return-value]  # set with done

    def close(self) -> None:
        """Process what is queued, then stop the step thread."""
        with self._queued:
            self._closed = True
            self._queued.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        if self._nice and sys.platform == "linux":
            # Linux keeps a nice value per thread; raising one's own needs no privilege.
            thread_id = threading.get_native_id()
            try:
                os.setpriority(os.PRIO_PROCESS, thread_id, os.getpriority(os.PRIO_PROCESS, thread_id) + self._nice)
            except OSError as exc:
                log.warning("group commit steps run at normal priority: %s", exc)
        while True:
            with self._queued:
                while not self._queue and not self._closed:
                    self._queued.wait()
                if not self._queue:
                    return
                group, self._queue = self._queue, []
            try:
                results = self._process([w.item for w in group])
                for w, result in zip(group, results, strict=True):
                    w.result = result
            except BaseException as exc:
                for w in group:
                    w.error = exc
            finally:
                for w in group:
                    w.done.set()
