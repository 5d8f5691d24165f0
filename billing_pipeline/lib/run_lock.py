"""One `billing-pipeline run` at a time per data folder, across processes.

DuckDB admits one writing process, so two runs on one folder would fail each other with lock
errors half-way. The first run holds an exclusive flock on `<data>/.run.lock` and writes its pid
and start time into it; a second run is refused at once, naming them. The kernel drops the lock
when the holder exits, however it exits, so a killed run never leaves the folder locked.
"""

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

LOCK_FILE = ".run.lock"


class FolderBusy(RuntimeError):
    pass


def _holder(path: Path) -> str:
    try:
        holder = json.loads(path.read_text())
        return f"pid {holder['pid']}, started {holder['started_at']}"
    except (OSError, ValueError, KeyError):
        return "holder unknown"


@contextmanager
def run_lock(data_root: Path) -> Iterator[None]:
    data_root.mkdir(parents=True, exist_ok=True)
    path = data_root / LOCK_FILE
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusy(f"another billing-pipeline run is working on {data_root} ({_holder(path)}); "
                             "nothing was done: run again when it has finished") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
        handle.flush()
        yield
