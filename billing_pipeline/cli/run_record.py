"""The record of the last `billing-pipeline run` that finished with everything done, so that a run
with nothing new can say so without loading Dagster or dbt.

The record (`<data>/logs/last_run.json`) holds the as-of date and a fingerprint of every input a
run reads: the landed usage files, the catalog, the Stripe inbox and the alert rules and sinks
(paths, sizes, modification times), the warehouse file as the run left it (so `acknowledge`, or
anything else that writes to it, counts as new), the code of the pipeline and its dbt project, and
the BILLING_* settings of the environment (hashed, never stored). A run whose as-of date and
fingerprint match the record, with no alert delivery pending, has nothing to do.
"""

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from billing_pipeline.exchange.data_dir import DataDir

RECORD = "last_run.json"
CODE = Path(__file__).resolve().parents[1]
DBT_PROJECT = CODE.parent / "dbt_project"
# Not STRIPE_*: the local test server listens on a new port each run, and which account a run
# publishes to changes nothing that is due (what was published is recorded per invoice).
SETTINGS_PREFIXES = ("BILLING_", "DAGSTER_HOME")


@dataclass(frozen=True)
class LastRun:
    finished_at: datetime
    as_of: date
    inputs: str


def _files(root: Path, skip: tuple[str, ...] = ()) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    return [p for p in root.rglob("*") if p.is_file() and not set(skip) & set(p.relative_to(root).parts)]


def inputs_fingerprint(paths: DataDir) -> str:
    digest = hashlib.sha256()
    sources = [(paths.landing_usage, ()), (paths.catalog, ()), (paths.stripe_inbox, ()), (paths.alerts / "rules.yaml", ()),
               (paths.alerts / "sinks.yaml", ()), (paths.warehouse, ()), (CODE, ("__pycache__",)),
               (DBT_PROJECT, ("target", "logs", "dbt_packages"))]
    for root, skip in sources:
        for path in sorted(_files(root, skip)):
            stat = path.stat()
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    for name in sorted(os.environ):
        if name.startswith(SETTINGS_PREFIXES):
            digest.update(f"{name}={os.environ[name]}\n".encode())
    return digest.hexdigest()


def last_run(paths: DataDir) -> LastRun | None:
    try:
        record = json.loads((paths.logs / RECORD).read_text())
        return LastRun(datetime.fromisoformat(record["finished_at"]), date.fromisoformat(record["as_of"]), record["inputs"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no record, or one this version cannot read: the run does its work


def pending_deliveries(paths: DataDir) -> int:
    """Alert deliveries a sink has not accepted yet: a run retries them, so they are something to do."""
    from billing_pipeline.lib.warehouse import connect, relation_exists

    if not paths.warehouse.is_file():
        return 0
    with connect(paths.warehouse, read_only=True) as con:
        if not relation_exists(con, "alerts", "deliveries"):
            return 0
        [(pending,)] = con.execute("SELECT count(*) FROM alerts.deliveries WHERE status = 'pending'").fetchall()
    return pending


def nothing_new_since(paths: DataDir, as_of: date) -> datetime | None:
    """When the last complete run finished, if nothing it read has changed since and nothing is pending."""
    record = last_run(paths)
    if record is None or record.as_of != as_of or record.inputs != inputs_fingerprint(paths) or pending_deliveries(paths):
        return None
    return record.finished_at


def write_record(paths: DataDir, as_of: date, finished_at: datetime) -> None:
    """After a run that did everything due: the inputs as it leaves them (the warehouse included)."""
    paths.logs.mkdir(parents=True, exist_ok=True)
    record = {"finished_at": finished_at.isoformat(timespec="seconds"), "as_of": as_of.isoformat(),
              "inputs": inputs_fingerprint(paths)}
    temporary = paths.logs / (RECORD + ".tmp")
    temporary.write_text(json.dumps(record) + "\n")
    temporary.replace(paths.logs / RECORD)


def forget(paths: DataDir) -> None:
    """A run starting to change things: until it finishes, the last record no longer describes the folder."""
    (paths.logs / RECORD).unlink(missing_ok=True)
