"""The server's state: Stripe objects, events, idempotency records and a movable clock.

Everything lives in memory behind one lock. With a state folder, changes are written to a temp
file renamed over `stripe_local_state.json`, so a crash mid-write never leaves half a file.
Rewriting the whole file after every request would make each request cost O(state), so writes
are coalesced: the first change is saved within 50 ms, later ones spaced by a few times the last
write's duration, and shutdown always saves. A killed (not stopped) server can lose the changes
of that last short window.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import string
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

STATE_FILE = "stripe_local_state.json"
TABLES = ("customers", "invoiceitems", "invoices", "events", "webhook_endpoints", "idempotency")
_ALPHABET = string.ascii_letters + string.digits
FIRST_SAVE_DELAY = 0.05
SAVE_SPACING = 4  # wait this many times the last write's duration, so writing takes <= 1/5 of the time


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


class Store:
    def __init__(self, state_dir: Path | str | None = None) -> None:
        self.lock = threading.RLock()
        self.path = Path(state_dir) / STATE_FILE if state_dir else None
        # Events waiting to go to webhook endpoints: (event id, endpoint id or None for all).
        self.outbox: list[tuple[str, str | None]] = []
        self._save_handle: asyncio.TimerHandle | None = None
        self._last_save_seconds = 0.0
        self._clear()
        if self.path and self.path.exists():
            self._load()

    def _clear(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in TABLES}
        self.clock_offset = 0
        self.seq = 0
        self.dirty = False

    def reset(self) -> None:
        with self.lock:
            self._clear()
            self.outbox.clear()
            self.dirty = True

    def now(self) -> int:
        return int(time.time()) + self.clock_offset

    def advance_clock(self, seconds: int) -> None:
        with self.lock:
            self.clock_offset += seconds
            self.dirty = True

    def insert(self, table: str, record: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.seq += 1
            record["seq"] = self.seq
            self.tables[table][record["id"]] = record
            self.dirty = True
            return record

    def get(self, table: str, object_id: str) -> dict[str, Any] | None:
        return self.tables[table].get(object_id)

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Records oldest first (dicts keep insertion order, and seq only grows)."""
        return list(self.tables[table].values())

    def delete(self, table: str, object_id: str) -> None:
        with self.lock:
            del self.tables[table][object_id]
            self.dirty = True

    def touch(self) -> None:
        self.dirty = True

    def save_soon(self) -> None:
        """Schedule a coalesced save on the running event loop."""
        if self.path is None or not self.dirty or self._save_handle is not None:
            return
        delay = max(FIRST_SAVE_DELAY, SAVE_SPACING * self._last_save_seconds)
        self._save_handle = asyncio.get_running_loop().call_later(delay, self._scheduled_save)

    def _scheduled_save(self) -> None:
        self._save_handle = None
        started = time.perf_counter()
        self.save_if_dirty()
        self._last_save_seconds = time.perf_counter() - started

    def save_now(self) -> None:
        """Write pending changes at once (on shutdown)."""
        if self._save_handle is not None:
            self._save_handle.cancel()
            self._save_handle = None
        self.save_if_dirty()

    def save_if_dirty(self) -> None:
        with self.lock:
            if not self.dirty:
                return
            self.dirty = False
            if self.path is None:
                return
            snapshot = {"clock_offset": self.clock_offset, "seq": self.seq, "tables": self.tables}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".stripe_local.", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(snapshot, out, separators=(",", ":"))
                os.replace(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise

    def _load(self) -> None:
        assert self.path is not None
        snapshot = json.loads(self.path.read_text(encoding="utf-8"))
        self.clock_offset = snapshot["clock_offset"]
        self.seq = snapshot["seq"]
        for name in TABLES:
            self.tables[name] = snapshot["tables"].get(name, {})
