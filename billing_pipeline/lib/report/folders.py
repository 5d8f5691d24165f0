"""Publishing a built report folder in place of the previous one, so readers never see half a report."""

import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """Yields an empty folder beside `target` (same filesystem, so renames are atomic); on success it
    replaces `target` whole, so a re-run leaves exactly what it built. On error the old folder stays."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; reports are for finance to read
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    retired = target.parent / f".{target.name}.retired-{uuid.uuid4().hex[:8]}"
    if target.exists():
        target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)
