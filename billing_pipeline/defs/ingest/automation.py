"""When ingestion runs: a daily schedule, and a sensor that reacts to any new or changed landed file."""

import hashlib
import json
import dagster as dg

from billing_pipeline.defs.partitions import daily_partitions
from billing_pipeline.lib.warehouse import BillingData

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.assets("raw_usage_events"),
    description="Ingest one landing day of usage files, with its checks.",
)
catalog_job = dg.define_asset_job(
    "catalog_job",
    selection=dg.AssetSelection.groups("ingest") - dg.AssetSelection.assets("raw_usage_events"),
    description="Validate and load the catalog files.",
)

daily_ingest_schedule = dg.build_schedule_from_partitioned_job(
    ingest_job, hour_of_day=1, minute_of_hour=15,
    description="Ingest yesterday's landing folder every day at 01:15 UTC.",
)


def _fingerprint(root, paths) -> str:
    """Paths (relative to root), sizes and modification times: a re-landed or late file changes it."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


@dg.sensor(
    jobs=[ingest_job, catalog_job],
    minimum_interval_seconds=60,
    description="Requests an ingest run for any landing day whose files are new or changed (late files for old "
                "days and files in nested folders included), and a catalog load when a catalog file changes. A change "
                "outside the day folders re-runs the latest landing day, which records it in raw.landing_problems.",
)
def landed_files_sensor(context: dg.SensorEvaluationContext, billing_data: BillingData):
    paths = billing_data.paths
    seen = json.loads(context.cursor) if context.cursor else {}
    now = {}
    if paths.catalog.is_dir():
        now["catalog"] = _fingerprint(paths.catalog, (p for p in paths.catalog.iterdir() if p.is_file()))
    valid_days = set(daily_partitions.get_partition_keys())
    if paths.landing_usage.is_dir():
        outside = []
        for entry in paths.landing_usage.iterdir():
            if entry.is_dir() and entry.name in valid_days:
                now[entry.name] = _fingerprint(entry, entry.rglob("*"))
            else:
                outside += [entry, *entry.rglob("*")]
        now["outside"] = _fingerprint(paths.landing_usage, outside)
    changed = sorted(key for key, value in now.items() if seen.get(key) != value)
    if "catalog" in changed:
        yield dg.RunRequest(job_name="catalog_job", run_key=f"catalog:{now['catalog']}")
    days = [k for k in changed if k not in ("catalog", "outside")]
    for day in days:
        yield dg.RunRequest(job_name="ingest_job", partition_key=day, run_key=f"{day}:{now[day]}")
    landed = sorted(k for k in now if k not in ("catalog", "outside"))
    if "outside" in changed and not days and landed:
        yield dg.RunRequest(job_name="ingest_job", partition_key=landed[-1], run_key=f"outside:{now['outside']}")
    context.update_cursor(json.dumps(now, sort_keys=True))
