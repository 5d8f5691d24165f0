"""The server's state: Stripe objects, events, idempotency records and a movable clock.

Everything lives in memory behind one lock. With a state folder, every write a request confirms is
durable before its answer leaves: the records it changed are appended as one line to a journal
(`stripe_local_journal.jsonl`) and fsynced (`commit`, called by the edge). A start loads the last
snapshot (`stripe_local_state.json`), replays the journal over it, ignoring a last line cut short
by a kill (never confirmed), and compacts: a new snapshot is written to a temp file, fsynced and
renamed over the old one, then the journal is emptied. A clean stop compacts too and removes the
journal. So a server killed with SIGKILL loses nothing it answered, and each request costs one
append of what it changed, not a rewrite of the whole state.

Code that changes a record in place says so with `updated(table, record)`; `insert` and `delete`
record themselves. One server at a time may use a state folder (an exclusive lock on the journal).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import string
import threading
import time
from pathlib import Path
from typing import IO, Any

STATE_FILE = "stripe_local_state.json"
JOURNAL_FILE = "stripe_local_journal.jsonl"
TABLES = ("accounts", "customers", "balance_transactions", "invoiceitems", "invoices", "events",
          "webhook_endpoints", "idempotency")
_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


class StateInUse(RuntimeError):
    """Another server holds the state folder."""


class Store:
    def __init__(self, state_dir: Path | str | None = None) -> None:
        self.lock = threading.RLock()
        self.folder = Path(state_dir) if state_dir else None
        # Events waiting to go to webhook endpoints: (event id, endpoint id or None for all).
        self.outbox: list[tuple[str, str | None]] = []
        self._journal: IO[bytes] | None = None
        self._clear()
        if self.folder is not None:
            self._open(self.folder)
        else:
            self.account()

    def _clear(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in TABLES}
        self.clock_offset = 0
        self.seq = 0
        self._pending: dict[tuple[str, str], dict[str, Any] | None] = {}  # None: deleted
        self._pending_reset = False
        self._pending_clock = False

    # -- reading and changing --------------------------------------------------------------------

    def now(self) -> int:
        return int(time.time()) + self.clock_offset

    def get(self, table: str, object_id: str) -> dict[str, Any] | None:
        return self.tables[table].get(object_id)

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Records oldest first (dicts keep insertion order, and seq only grows)."""
        return list(self.tables[table].values())

    def insert(self, table: str, record: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.seq += 1
            record["seq"] = self.seq
            self.tables[table][record["id"]] = record
            self._pending[(table, record["id"])] = record
            return record

    def updated(self, table: str, record: dict[str, Any]) -> None:
        """`record` was changed in place: journal it with the current request."""
        with self.lock:
            self._pending[(table, record["id"])] = record

    def delete(self, table: str, object_id: str) -> None:
        with self.lock:
            del self.tables[table][object_id]
            self._pending[(table, object_id)] = None

    def advance_clock(self, seconds: int) -> None:
        with self.lock:
            self.clock_offset += seconds
            self._pending_clock = True

    def reset(self) -> None:
        with self.lock:
            self._clear()
            self.outbox.clear()
            self._pending_reset = True
            self.account()

    def account(self) -> dict[str, Any]:
        """The one Stripe account this server is, created with its state (a reset makes a new one)."""
        with self.lock:
            existing = self.rows("accounts")
            if existing:
                return existing[0]
            return self.insert("accounts", {"id": new_id("acct_", 16), "created": self.now()})

    # -- durability ------------------------------------------------------------------------------

    def commit(self) -> None:
        """Make every change since the last commit durable (one fsynced journal line) before answering."""
        with self.lock:
            if not (self._pending or self._pending_reset or self._pending_clock):
                return
            entry = {
                "reset": self._pending_reset,
                "clock_offset": self.clock_offset,
                "seq": self.seq,
                "changes": [[table, object_id, record] for (table, object_id), record in self._pending.items()],
            }
            self._pending = {}
            self._pending_reset = self._pending_clock = False
            if self._journal is None:
                return
            self._journal.write(json.dumps(entry, separators=(",", ":")).encode() + b"\n")
            self._journal.flush()
            os.fsync(self._journal.fileno())

    def close(self) -> None:
        """Compact and release the folder (on shutdown); the journal is no longer needed."""
        with self.lock:
            self.commit()
            if self._journal is None or self.folder is None:
                return
            self._write_snapshot(self.folder)
            (self.folder / JOURNAL_FILE).unlink()
            self._journal.close()  # releases the folder lock
            self._journal = None

    def _open(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        journal = open(folder / JOURNAL_FILE, "a+b")
        try:
            fcntl.flock(journal.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            journal.close()
            raise StateInUse(f"{folder} is in use by another local Stripe server") from None
        snapshot = folder / STATE_FILE
        if snapshot.exists():
            self._load(json.loads(snapshot.read_text(encoding="utf-8")))
        journal.seek(0)
        self._replay(journal.read(), folder / JOURNAL_FILE)
        self.account()
        self._pending = {}
        self._journal = journal
        # Compact at once, so the journal only ever holds what this run confirms.
        self._write_snapshot(folder)
        journal.truncate(0)
        os.fsync(journal.fileno())

    def _load(self, snapshot: dict[str, Any]) -> None:
        self.clock_offset = snapshot["clock_offset"]
        self.seq = snapshot["seq"]
        for name in TABLES:
            self.tables[name] = snapshot["tables"].get(name, {})

    def _replay(self, data: bytes, path: Path) -> None:
        lines = data.split(b"\n")
        # The last element is what follows the final newline: empty, or a line a kill cut short,
        # whose request was never answered.
        for number, line in enumerate(lines[:-1], start=1):
            try:
                entry = json.loads(line)
            except ValueError:
                raise ValueError(f"{path}:{number} is not a journal entry; the state folder is damaged") from None
            if entry["reset"]:
                self.tables = {name: {} for name in TABLES}
            self.clock_offset, self.seq = entry["clock_offset"], entry["seq"]
            for table, object_id, record in entry["changes"]:
                if record is None:
                    self.tables[table].pop(object_id, None)
                else:
                    self.tables[table][object_id] = record

    def _write_snapshot(self, folder: Path) -> None:
        snapshot = {"clock_offset": self.clock_offset, "seq": self.seq, "tables": self.tables}
        tmp = folder / f".{STATE_FILE}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(snapshot, out, separators=(",", ":"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, folder / STATE_FILE)
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)
