"""Everything under `landing/usage/`, each file and folder either read or given the reason it is not.

Day folders (`YYYY-MM-DD` within the daily partitions) are ingested; in them, only regular,
non-hidden, non-empty files with a known extension are read. Everything else is listed with a reason
(reasons.py), so nothing landed can go unseen.
"""

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from billing_pipeline.lib.ingest.landed_files import READABLE_SUFFIXES
from billing_pipeline.lib.ingest.reasons import label

DAY_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}$")

@dataclass(frozen=True)
class LandedEntry:
    path: Path
    rel: str  # relative to landing/usage; folders end with '/'
    size: int
    reason: str | None  # None: read it
    detail: str | None

    @property
    def is_folder(self) -> bool:
        return self.rel.endswith("/")


def _landing_day(name: str) -> date | None:
    if not DAY_NAME.match(name):
        return None
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None


def _listed(path: Path, root: Path, reason: str, detail: str | None = None) -> list[LandedEntry]:
    """`path` and, for a folder, everything in it, all not read for `reason`; an empty folder is
    listed itself (a folder with files is listed through its files)."""
    detail = detail or label(reason)
    if not path.is_dir():
        return [LandedEntry(path, path.relative_to(root).as_posix(), path.stat().st_size, reason, detail)]
    entries = [entry for child in sorted(path.iterdir()) for entry in _listed(child, root, reason, detail)]
    return entries or [LandedEntry(path, path.relative_to(root).as_posix() + "/", 0, reason, detail)]


def landing_days(landing_usage: Path, first: date, last: date) -> list[date]:
    """The day folders to ingest: named as a day within [first, last]."""
    if not landing_usage.is_dir():
        return []
    days = (_landing_day(p.name) for p in landing_usage.iterdir() if p.is_dir())
    return sorted(d for d in days if d is not None and first <= d <= last)


def outside_day_folders(landing_usage: Path, first: date, last: date) -> list[LandedEntry]:
    """Everything under landing/usage that is not in a day folder to ingest."""
    if not landing_usage.is_dir():
        return []
    entries = []
    for path in sorted(landing_usage.iterdir()):
        day = _landing_day(path.name) if path.is_dir() else None
        if not path.is_dir():
            entries += _listed(path, landing_usage, "not_in_a_day_folder")
        elif day is None:
            entries += _listed(path, landing_usage, "not_a_day_folder",
                               f"folder name {path.name!r} is not a landing day (YYYY-MM-DD)")
        elif not first <= day <= last:
            entries += _listed(path, landing_usage, "outside_partitions",
                               f"landing day {day} is outside the daily partitions ({first} to {last})")
    return entries


def day_folder_entries(landing_usage: Path, day: date) -> list[LandedEntry]:
    """Every file of a day folder (nested ones included), with a reason for those not read."""
    folder = landing_usage / day.isoformat()
    if not folder.is_dir():
        return []
    entries = []
    for path in sorted(folder.iterdir()):
        rel = path.relative_to(landing_usage).as_posix()
        if path.is_dir():
            entries += _listed(path, landing_usage, "nested_folder")
        elif path.name.startswith("."):
            entries += _listed(path, landing_usage, "hidden_file")
        elif not path.name.lower().endswith(READABLE_SUFFIXES):
            entries += _listed(path, landing_usage, "unknown_extension")
        elif path.stat().st_size == 0:
            entries += _listed(path, landing_usage, "empty_file")
        else:
            entries.append(LandedEntry(path, rel, path.stat().st_size, None, None))
    return entries
