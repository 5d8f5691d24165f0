"""The Stripe webhook inbox: each verified event as one file named by its event id.

The API never opens the warehouse, so a webhook only lands its event here; the pipeline's
`stripe_payment_events` asset loads the files and moves them to `processed/`. The file is created
exclusively (a hard link of a complete temp file), so a replayed event finds its first copy and is
not stored twice, and a reader never sees half a file.
"""

import os
import re
import uuid
from pathlib import Path

PROCESSED = "processed"
# Stripe event ids are "evt_" and letters/digits; anything else is no file name we write.
EVENT_ID = re.compile(r"evt_[A-Za-z0-9_]{1,200}")


def event_file_name(event_id: str) -> str:
    if not EVENT_ID.fullmatch(event_id):
        raise ValueError(f"not a Stripe event id: {event_id!r}")
    return f"{event_id}.json"


def receive(inbox: Path, event_id: str, payload: bytes) -> bool:
    """Store the event's payload once; False when this event id was received before."""
    name = event_file_name(event_id)
    if (inbox / PROCESSED / name).exists():
        return False
    inbox.mkdir(parents=True, exist_ok=True)
    temp = inbox / f".{name}.{uuid.uuid4().hex}.tmp"
    with open(temp, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temp, inbox / name)
        return True
    except FileExistsError:
        return False
    finally:
        temp.unlink()


def pending(inbox: Path) -> list[Path]:
    """Received events not loaded yet, oldest file first."""
    if not inbox.is_dir():
        return []
    return sorted(inbox.glob("evt_*.json"), key=lambda path: (path.stat().st_mtime_ns, path.name))


def mark_processed(path: Path) -> None:
    done = path.parent / PROCESSED
    done.mkdir(exist_ok=True)
    os.replace(path, done / path.name)
