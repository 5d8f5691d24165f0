"""What the files the pipeline publishes in `serving/` for the quota API have in common.

Each is one Parquet file written atomically (temp file, fsync, rename, fsync of the folder), so a
reader sees the old file or the new one, never half of one, read back in one read so that its
metadata and rows come from the same file. The metadata is a JSON object under the file's key that
holds at least `format_version`, `generated_at` and `included_files` (the landed files, as
raw.ingest_files names them, `<day>/<file>`, whose events the figures include).
"""

import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

# lz4 reads back about twice as fast as zstd here, for a file twice the size.
COMPRESSION = "lz4"


class SnapshotError(ValueError):
    """A snapshot file or frame that must not be served; the message says why."""


def rows_to_publish(rows: pl.DataFrame, validate: Callable[[pl.DataFrame], pl.DataFrame], what: str,
                    generated_at: datetime) -> pl.DataFrame:
    """`rows` validated for a file of `what`, stamped `generated_at`; SnapshotError saying why not."""
    if generated_at.tzinfo is None:
        raise SnapshotError("generated_at must be timezone-aware")
    try:
        return validate(rows)
    except SnapshotError as exc:
        raise SnapshotError(f"{what} rows are invalid: {exc}") from None


def publish_frame(frame: pl.DataFrame, target: Path, metadata_key: bytes, format_version: int,
                  generated_at: datetime, included_files: Iterable[str]) -> Path:
    """Write `frame` with its metadata to `target`, atomically."""
    metadata = {"format_version": format_version, "generated_at": generated_at.astimezone(UTC).isoformat(),
                "included_files": sorted(included_files)}
    table = frame.to_arrow().replace_schema_metadata({metadata_key: json.dumps(metadata).encode()})
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            pq.write_table(table, tmp, compression=COMPRESSION)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return target


def read_published(path: Path, metadata_key: bytes, format_version: int,
                   what: str) -> tuple[pl.DataFrame, datetime, frozenset[str]]:
    """(rows, generated_at, included_files) of a file `publish_frame` wrote; SnapshotError saying
    what is wrong with any other."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise SnapshotError(f"no snapshot file at {path}") from None
    except OSError as exc:
        raise SnapshotError(f"cannot read {path}: {exc}") from None
    try:
        metadata = pq.read_schema(pa.BufferReader(content)).metadata or {}
        frame = pl.read_parquet(io.BytesIO(content))
    except (pa.ArrowException, pl.exceptions.PolarsError, OSError) as exc:
        raise SnapshotError(f"{path.name} is not a readable Parquet file: {exc}") from None
    raw = metadata.get(metadata_key)
    if raw is None:
        raise SnapshotError(f"{path.name} has no {what} metadata: not written by the pipeline's writer")
    try:
        info = json.loads(raw)
        version = info["format_version"]
        generated_at = datetime.fromisoformat(info["generated_at"])
    except (ValueError, KeyError, TypeError) as exc:
        raise SnapshotError(f"{path.name} has unreadable {what} metadata: {exc!r}") from None
    if version != format_version:
        raise SnapshotError(f"{path.name} has format version {version}, this reader knows {format_version}")
    included_files = info.get("included_files")
    if generated_at.tzinfo is None:
        raise SnapshotError(f"{path.name} has a generated_at without a timezone")
    if not isinstance(included_files, list) or not all(isinstance(name, str) for name in included_files):
        raise SnapshotError(f"{path.name} has included_files that is not a list of file names")
    return frame, generated_at.astimezone(UTC), frozenset(included_files)


def schema_problems(actual: pl.Schema, expected: dict[str, pl.DataType]) -> list[str]:
    problems = []
    missing = [c for c in expected if c not in actual]
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    unexpected = [c for c in actual if c not in expected]
    if unexpected:
        problems.append(f"unexpected column(s) {', '.join(unexpected)}")
    for column, dtype in expected.items():
        if column in actual and actual[column] != dtype:
            problems.append(f"column {column} is {actual[column]}, expected {dtype}")
    return problems


def row_problems(rows: pl.DataFrame, checks: dict[str, pl.Expr], keys: tuple[str, ...]) -> list[str]:
    """One line per check that flags any row: how many rows, and the first one's key columns."""
    flagged = rows.select(**{name: expr.fill_null(False) for name, expr in checks.items()})
    problems = []
    for name, count in flagged.sum().row(0, named=True).items():
        if count:
            first = rows.filter(flagged[name]).row(0, named=True)
            where = ", ".join(f"{key.removesuffix('_id')} {first[key]!r}" for key in keys)
            problems.append(f"{count} row(s) with {name} (first: {where})")
    return problems


def fsync_dir(directory: Path) -> None:
    # The rename is only durable once the directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
