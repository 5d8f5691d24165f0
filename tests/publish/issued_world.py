"""An issued January for publishing tests: the hand-checked rating world, closed by a real dbt build.

dbt takes ~30 s here, so the world is built once per test session (xdist workers share it behind a
file lock) and every test gets its own copy of the data folder.
"""

import fcntl
import shutil
from datetime import date
from pathlib import Path

from billing_pipeline.lib.catalog import read_catalog, write_catalog
from billing_pipeline.lib.data_dir import DataDir
from billing_pipeline.lib.warehouse import connect
from tests.dbt.rating_warehouse import january_world

PERIOD = "2026-01"
PARTITION = "2026-01-01"
# The issued totals (cents) of January, worked out in tests/dbt/rating_warehouse.py; acme's credits
# bring it to zero.
TOTALS = {"INV-202601-acme": 0, "INV-202601-beta": 10717, "INV-202601-cara": 3871, "INV-202601-dora": 7100,
          "INV-202601-late": 3800}
PUBLISHED = {invoice_id: total for invoice_id, total in TOTALS.items() if total}


def issued_template(shared_root: Path) -> DataDir:
    template = DataDir(shared_root / "issued_january")
    with open(shared_root / "issued_january.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared_root / "issued_january.done").exists():
            shutil.rmtree(template.root, ignore_errors=True)
            world = january_world(template.root)
            result = world.rate(date(2026, 1, 1), as_of=date(2026, 2, 10))
            assert result.success, result.with_status("fail", "error")
            (shared_root / "issued_january.done").touch()
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
