"""Incremental ingestion and rating give exactly what a full refresh gives.

Two copies of the same data folder receive the same files at each step. The incremental one gets
them one file at a time in a shuffled order, with re-deliveries (the same bytes again, and copies
under another name), ingests only the days that changed and rates as the rating asset does: it
rebuilds what changed since its last successful build (lib/rating/scope.py: nothing, the models
pricing usage, or everything); the other re-reads every file and runs `dbt build --full-refresh`.
A changed catalog price, the close of January, and January events landing after the close (billed
as adjustments) come along the way. After each rating, invoices, quota status, credit ledger and
issued invoices are identical, whichever of the three the incremental rating rebuilt.
"""

import random
from decimal import Decimal
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from billing_pipeline.defs.ingest.raw_usage_events import partition_days
from billing_pipeline.defs.rating.assets import dbt_build_args
from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.ingest.catalog import read_catalog, write_catalog
from billing_pipeline.lib.ingest.landing_changes import days_due
from billing_pipeline.lib.ingest.landing_inventory import landing_days
from billing_pipeline.lib.ingest.usage_events import ingest_day
from billing_pipeline.lib.rating.scope import rating_scope, record_build
from billing_pipeline.lib.rating.window import RatingWindow
from billing_pipeline.lib.warehouse import BillingData, connect
from billing_pipeline.sample.catalog_files import write_catalog_files
from billing_pipeline.sample.usage_files import UsageSpec, write_usage_files
from tests.dbt.rating_warehouse import run_dbt

START, DAYS, SEED = date(2026, 1, 1), 40, 23
COMPARED = ["fct_invoices", "fct_invoice_lines", "fct_quota_status", "fct_credit_ledger", "fct_issued_invoices",
            "fct_issued_invoice_lines", "fct_usage_daily"]


def _comparable(con, table: str) -> list[tuple]:
    """Every row of the table, without the columns that record when something ran."""
    columns = [name for name, kind in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ? "
        "ORDER BY ordinal_position", [table]).fetchall() if not kind.startswith("TIMESTAMP")]
    quoted = ", ".join('"' + name + '"' for name in columns)
    return con.execute(f"SELECT {quoted} FROM main.{table} ORDER BY ALL").fetchall()


def _state(paths: DataDir) -> dict[str, list[tuple]]:
    with connect(paths.warehouse) as con:  # in-process dbt keeps the database open read-write
        return {table: _comparable(con, table) for table in COMPARED}


def _rate(paths: DataDir, as_of: date, full_refresh: bool) -> str:
    """Rate January and February as the rating asset does; what it rebuilt."""
    window = RatingWindow(date(2026, 1, 1), date(2026, 3, 1), as_of)
    with connect(paths.warehouse) as con:
        scope = rating_scope(con, window, full_refresh)
    if scope.kind != "nothing":
        run = run_dbt([*dbt_build_args(BillingData(data_dir=str(paths.root)), full_refresh), *scope.dbt_args()],
                      {**window.dbt_env(), **scope.dbt_env()})
        assert run.success, run.with_status("fail", "error")
        with connect(paths.warehouse) as con:
            record_build(con, scope)
    return scope.kind


def _ingest_due(paths: DataDir) -> None:
    first, last = partition_days()
    with connect(paths.warehouse) as con:
        for day in days_due(con, paths.landing_usage, landing_days(paths.landing_usage, first, last), first, last):
            ingest_day(con, paths.landing_usage, day)


def _ingest_everything(paths: DataDir) -> None:
    first, last = partition_days()
    with connect(paths.warehouse) as con:
        for day in landing_days(paths.landing_usage, first, last):
            ingest_day(con, paths.landing_usage, day, reread=True)


class Worlds:
    """The incremental and the full-refresh copy, fed the same files from a stash."""

    def __init__(self, root: Path, rng: random.Random):
        self.stash, self.rng = DataDir(root / "stash"), rng
        accounts = write_catalog_files(self.stash.catalog, 30, START, DAYS, seed=SEED)
        write_usage_files(self.stash.landing_usage, accounts, UsageSpec(START, DAYS, 300, seed=SEED))
        self.incremental, self.full = DataDir(root / "incremental"), DataDir(root / "full")
        for world in (self.incremental, self.full):
            shutil.copytree(self.stash.catalog, world.catalog)
            world.landing_usage.mkdir(parents=True)
            self.load_catalog(world)

    @staticmethod
    def load_catalog(world: DataDir) -> None:
        with connect(world.warehouse) as con:
            write_catalog(con, read_catalog(world.catalog))

    def files_landed(self, before: date) -> list[Path]:
        return sorted(p.relative_to(self.stash.landing_usage) for p in self.stash.landing_usage.rglob("*")
                      if p.is_file() and date.fromisoformat(p.parts[-2]) < before)

    def land(self, rels: list[Path], redeliveries: int = 3) -> None:
        """Each file into both copies; the incremental copy ingests after every file, in a shuffled
        order, and some files arrive twice (same bytes) or again under another name."""
        order = list(rels) + self.rng.sample(list(rels), min(redeliveries, len(rels)))
        self.rng.shuffle(order)
        for rel in order:
            for world in (self.incremental, self.full):
                (world.landing_usage / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(self.stash.landing_usage / rel, world.landing_usage / rel)
            _ingest_due(self.incremental)
        for rel in self.rng.sample(list(rels), min(redeliveries, len(rels))):
            copy = rel.with_name("redelivered-" + rel.name)
            for world in (self.incremental, self.full):
                shutil.copy(self.stash.landing_usage / rel, world.landing_usage / copy)
            _ingest_due(self.incremental)

    def rate_both(self, as_of: date) -> str:
        """Rate both copies and compare them; what the incremental rating rebuilt."""
        rebuilt = _rate(self.incremental, as_of, full_refresh=False)
        if rebuilt != "nothing":
            # With nothing new, the full copy's last rating already is the one to compare with (same
            # files, same as-of): rebuilding it again would only cost the suite a full build.
            _ingest_everything(self.full)
            _rate(self.full, as_of, full_refresh=True)
        incremental, full = _state(self.incremental), _state(self.full)
        for table in COMPARED:
            assert incremental[table] == full[table], f"{table} differs as of {as_of} (rebuilt {rebuilt})"
        return rebuilt

    def change_price(self) -> None:
        """Raise the first per-unit price of the catalog by a tenth of a cent."""
        plans = yaml.safe_load((self.stash.catalog / "plans.yaml").read_text())
        charge = next(c for p in plans["plans"] for c in p.get("charges", []) if c.get("model") == "per_unit")
        charge["unit_price"] = str(Decimal(str(charge["unit_price"])) + Decimal("0.001"))
        for world in (self.incremental, self.full):
            (world.catalog / "plans.yaml").write_text(yaml.safe_dump(plans, sort_keys=False))
            self.load_catalog(world)


@pytest.mark.parametrize("seed", [1])
def test_incremental_rating_gives_the_invoices_quota_status_and_ledgers_of_a_full_refresh(tmp_path, seed):
    worlds = Worlds(tmp_path, random.Random(seed))
    january_close = date(2026, 2, 4)
    landed = worlds.files_landed(january_close)
    late = worlds.rng.sample([r for r in landed if r.parts[0].startswith("2026-01")], 4)
    worlds.land([r for r in landed if r not in late])
    rebuilt = [worlds.rate_both(date(2026, 2, 2))]
    rebuilt.append(worlds.rate_both(date(2026, 2, 2)))  # nothing new: dbt does not run
    worlds.land(late)  # late files of January days, landed during the grace period
    rebuilt.append(worlds.rate_both(date(2026, 2, 2)))  # new usage only: the models pricing it
    worlds.change_price()
    rebuilt.append(worlds.rate_both(january_close))  # January closes and is issued
    february = [r for r in worlds.files_landed(START + timedelta(days=DAYS)) if r not in landed]
    # events land up to 5 days late, so the files of Feb 4-6 hold some of January's: everything
    # (and the ledger the close wrote is read back)
    worlds.land([r for r in february if r.parts[0] < "2026-02-07"])
    rebuilt.append(worlds.rate_both(january_close))
    worlds.land([r for r in february if r.parts[0] >= "2026-02-07"])
    rebuilt.append(worlds.rate_both(january_close))  # February usage only, January issued
    # January events landing in a February day after the close: adjustments on February's invoice
    late_rel = Path("2026-02-06") / "late-january.ndjson"
    source = worlds.stash.landing_usage / "2026-01-20"
    january_lines = next(source.glob("*.ndjson")).read_text().splitlines()[:25]
    (worlds.stash.landing_usage / late_rel).write_text(
        "\n".join(line.replace('"ev_', '"late-ev_') for line in january_lines) + "\n")
    worlds.land([late_rel], redeliveries=1)
    rebuilt.append(worlds.rate_both(january_close))  # usage of an issued month: everything
    rebuilt.append(worlds.rate_both(date(2026, 2, 9)))
    assert rebuilt == ["all", "nothing", "usage", "all", "all", "usage", "all", "all"]
    with connect(worlds.incremental.warehouse) as con:
        [(adjustments,)] = con.execute("SELECT count(*) FROM fct_invoice_lines WHERE line_type = 'adjustment'").fetchall()
        [(issued,)] = con.execute("SELECT count(*) FROM fct_issued_periods").fetchall()
    assert issued == 1 and adjustments > 0  # the run covered a close and late events after it
