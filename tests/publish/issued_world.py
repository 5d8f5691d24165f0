"""An issued January for publishing tests: the hand-checked rating world, closed by a real dbt build.

dbt takes 30-60 s here, so the built data folder is kept in pytest's cache under a digest of
everything that shapes it (dbt project, catalog loader, the world's definition) and rebuilt when
any of it changes; xdist workers share it behind a file lock, and every test gets its own copy.
"""

import fcntl
import hashlib
import shutil
from datetime import date
from pathlib import Path

import pytest

from billing_pipeline.lib.ingest.catalog import read_catalog, write_catalog
from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.warehouse import connect
from tests.dbt.rating_warehouse import january_world

PERIOD = "2026-01"
PARTITION = "2026-01-01"
# The issued totals (cents) of January, worked out in tests/dbt/rating_warehouse.py; acme's credits
# bring it to zero.
TOTALS = {"INV-202601-acme": 0, "INV-202601-beta": 10717, "INV-202601-cara": 3871, "INV-202601-dora": 7100,
          "INV-202601-late": 3800}
PUBLISHED = {invoice_id: total for invoice_id, total in TOTALS.items() if total}


REPO = Path(__file__).resolve().parents[2]
INPUTS = ["dbt_project/models", "dbt_project/macros", "dbt_project/tests", "dbt_project/dbt_project.yml",
          "tests/dbt/rating_warehouse.py", "billing_pipeline/lib/ingest", "billing_pipeline/lib/rating",
          "billing_pipeline/defs/rating", __file__]


def inputs_digest() -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        root = REPO / name
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def issued_template_for(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    """The template in pytest's cache, or without one (-p no:cacheprovider) beside the session's
    base temp folder, which the session's xdist workers share."""
    cache = getattr(config, "cache", None)
    return issued_template(cache.mkdir("publish_issued_january") if cache else tmp_path_factory.getbasetemp().parent)


def issued_template(cache_root: Path) -> DataDir:
    cache_root.mkdir(parents=True, exist_ok=True)
    key = inputs_digest()
    template = DataDir(cache_root / f"issued_january-{key}")
    done = cache_root / f"issued_january-{key}.done"
    with open(cache_root / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(template.root, ignore_errors=True)
            world = january_world(template.root)
            result = world.rate(date(2026, 1, 1), as_of=date(2026, 2, 10))
            assert result.success, result.with_status("fail", "error")
            done.touch()
    return template


def copy_of(template: DataDir, root: Path) -> DataDir:
    shutil.copytree(template.root, root)
    return DataDir(root)


def set_stripe_customer_id(paths: DataDir, account_id: str, customer_id: str) -> None:
    """Edit accounts.csv as an operator would, and load the catalog again."""
    accounts = paths.catalog / "accounts.csv"
    lines = accounts.read_text().splitlines()
    edited = [line[: line.rindex(",")] + "," + customer_id if line.startswith(f"{account_id},") else line
              for line in lines]
    accounts.write_text("\n".join(edited) + "\n")
    with connect(paths.warehouse) as con:
        write_catalog(con, read_catalog(paths.catalog))


def line_counts(paths: DataDir) -> dict[str, int]:
    with connect(paths.warehouse, read_only=True) as con:
        return dict(con.execute("SELECT invoice_id, count(*) FROM fct_issued_invoice_lines GROUP BY ALL").fetchall())


def issue_a_negative_invoice(paths: DataDir, invoice_id: str, adjustment_cents: int) -> int:
    """Give `invoice_id` the negative adjustment line rating issues when late events re-rate an issued
    month cheaper (docs/rating.md, "Periods, closing and late events"), and the totals that go with it, as
    if the month had closed that way. Rating such a month takes a second closed month with volume
    pricing; what is tested here is what publishing does with the result. Returns the new total."""
    with connect(paths.warehouse) as con:
        [(period, account_id, line_count, issued_on)] = con.execute(
            "SELECT period, account_id, line_count, issued_on FROM fct_issued_invoices WHERE invoice_id = ?",
            [invoice_id]).fetchall()
        con.execute(
            """INSERT INTO fct_issued_invoice_lines (invoice_id, line_id, line_number, account_id, period, line_type,
                   amount_cents, is_trial, description, usage_start, usage_end, adjusts_period, late_event_count,
                   line_key, issued_on)
               VALUES (?, ? || '/adjustment:2025-12', ?, ?, ?, 'adjustment', ?, false,
                   'Adjustment for 2025-12: re-rated with 40 late events', DATE '2025-12-01', DATE '2026-01-01',
                   '2025-12', 40, 'adjustment:2025-12', ?)""",
            [invoice_id, invoice_id, line_count + 1, account_id, period, adjustment_cents, issued_on]).fetchall()
        [(total,)] = con.execute(
            """UPDATE fct_issued_invoices SET total_cents = total_cents + ?, adjustment_cents = adjustment_cents + ?,
                   line_count = line_count + 1 WHERE invoice_id = ? RETURNING total_cents""",
            [adjustment_cents, adjustment_cents, invoice_id]).fetchall()
        con.execute("UPDATE fct_issued_periods SET total_cents = total_cents + ? WHERE period = ?",
                    [adjustment_cents, period]).fetchall()
    return total
