"""Intake files: usage events the quota API accepted over HTTP, landed for the pipeline to ingest.

The API appends each accepted batch to one open file per UTC day and fsyncs it before it answers, so
an acknowledged event is on disk. The open file is *in flight*: its name starts with a dot,
`landing/usage/<day>/.intake-<opened>-<pid>.ndjson`, and ingestion lists dot files as `hidden_file`
and never reads them (lib/ingest/landing_inventory.py). The file is *rotated* (renamed to its final
name without the dot, then the folder fsynced) when it reaches `max_bytes`, when it is older than
`max_age_seconds`, when the UTC day changes, and when the API stops. A rename is atomic, so ingestion
sees a whole file or none, and a final file never changes again: its name alone tells whether a quota
snapshot included it.

After a crash `recover` finishes what the dead process left: a torn last line (written, never
acknowledged, since the answer follows the fsync) is cut, and every in-flight file is rotated.
"""

import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from billing_pipeline.exchange.serving_file import fsync_dir

INTAKE_PREFIX = "intake-"
IN_FLIGHT_PREFIX = "."
SUFFIX = ".ndjson"
INTAKE_NAME = re.compile(r"^\.?intake-\d{8}T\d{6}\d{6}Z-\d+(-\d+)?\.ndjson$")
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_AGE_SECONDS = 60.0


def is_intake_file(name: str) -> bool:
    return bool(INTAKE_NAME.match(name))


def final_name(name: str) -> str:
    return name.removeprefix(IN_FLIGHT_PREFIX)


@dataclass
class _OpenFile:
    day: date
    path: Path
    fd: int
    size: int
    opened_at: datetime

    @property
    def rel(self) -> str:
        """The name the file will have once rotated, relative to landing/usage (as raw.ingest_files names it)."""
        return f"{self.day.isoformat()}/{final_name(self.path.name)}"


class IntakeLog:
    """Appends accepted events to the open intake file. Not thread-safe: the caller serialises appends."""

    def __init__(self, landing_usage: Path, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS) -> None:
        self.landing_usage = landing_usage
        self.max_bytes = max_bytes
        self.max_age_seconds = max_age_seconds
        self._open: _OpenFile | None = None
        self._opened = 0

    def append(self, lines: list[bytes], now: datetime) -> str:
        """Write `lines` (each one JSON text without a newline) durably; return the file's final rel name."""
        self.rotate_if_due(now)
        current = self._open or self._open_file(now)
        data = b"".join(line + b"\n" for line in lines)
        written = 0
        while written < len(data):
            written += os.write(current.fd, data[written:])
        os.fsync(current.fd)
        current.size += len(data)
        return current.rel

    def rotate_if_due(self, now: datetime) -> None:
        current = self._open
        if current is None:
            return
        if (current.day != now.astimezone(UTC).date() or current.size >= self.max_bytes
                or (now - current.opened_at).total_seconds() >= self.max_age_seconds):
            self.rotate()

    def rotate(self) -> None:
        """Close the open file (if any) and give it its final name."""
        current, self._open = self._open, None
        if current is None:
            return
        os.close(current.fd)
        _publish(current.path)

    def _open_file(self, now: datetime) -> _OpenFile:
        now = now.astimezone(UTC)
        folder = self.landing_usage / now.date().isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        self._opened += 1
        # Opening time, process and a counter: unique across restarts and processes sharing the folder.
        name = f"{IN_FLIGHT_PREFIX}{INTAKE_PREFIX}{now:%Y%m%dT%H%M%S%f}Z-{os.getpid()}-{self._opened}{SUFFIX}"
        path = folder / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        fsync_dir(folder)
        self._open = _OpenFile(now.date(), path, fd, 0, now)
        return self._open


def recover(landing_usage: Path) -> list[str]:
    """Rotate every in-flight intake file a stopped process left, cutting a torn last line first.
    Returns the final rel names. Only for when no API process is running on this data folder."""
    recovered = []
    for path in sorted(landing_usage.glob(f"*/{IN_FLIGHT_PREFIX}{INTAKE_PREFIX}*{SUFFIX}")):
        if not is_intake_file(path.name):
            continue
        _cut_torn_line(path)
        _publish(path)
        recovered.append(f"{path.parent.name}/{final_name(path.name)}")
    return recovered


def intake_files(landing_usage: Path, first_day: date) -> list[Path]:
    """The rotated intake files of day folders from `first_day` on, oldest day first."""
    if not landing_usage.is_dir():
        return []
    files = []
    for folder in sorted(landing_usage.iterdir()):
        try:
            day = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if day >= first_day and folder.is_dir():
            files += sorted(p for p in folder.iterdir() if is_intake_file(p.name) and not p.name.startswith(IN_FLIGHT_PREFIX))
    return files


def rel_name(landing_usage: Path, path: Path) -> str:
    return path.relative_to(landing_usage).as_posix()


def _cut_torn_line(path: Path) -> None:
    with open(path, "r+b") as file:
        content = file.read()
        keep = content.rfind(b"\n") + 1
        if keep < len(content):
            file.truncate(keep)
            file.flush()
            os.fsync(file.fileno())


def _publish(path: Path) -> None:
    target = path.with_name(final_name(path.name))
    if path.stat().st_size == 0:
        # Nothing was ever acknowledged from it: an empty file would only be listed as empty_file.
        path.unlink()
    else:
        os.rename(path, target)
    fsync_dir(path.parent)
