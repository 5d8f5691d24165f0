"""Shared fixtures: small generated data folders and a warehouse with the catalog loaded."""

import json
import os
import shutil
from datetime import date
from pathlib import Path

import pytest

# The partitions start where a data folder's billing starts, fixed when billing_pipeline.defs loads;
# the tests' worlds start in January 2026. Set here, before any conftest below (loaded before
# pytest_configure when its folder is named on the command line) imports the definitions.
os.environ.setdefault("BILLING_START_DATE", "2026-01-01")

from billing_pipeline.lib.ingest.catalog import read_catalog, write_catalog
from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.warehouse import connect
from billing_pipeline.sample.catalog_files import write_catalog_files
from billing_pipeline.sample.usage_files import UsageSpec, write_usage_files

SAMPLE_START = date(2026, 8, 28)
SAMPLE_DAYS = 6


@pytest.fixture(scope="session")
def generated_sample(tmp_path_factory) -> DataDir:
    """A seeded sample across a month boundary with every fault kind; never modified by tests."""
    paths = DataDir(tmp_path_factory.mktemp("sample"))
    accounts = write_catalog_files(paths.catalog, 30, SAMPLE_START, SAMPLE_DAYS, seed=11)
    manifest = write_usage_files(paths.landing_usage, accounts, UsageSpec(SAMPLE_START, SAMPLE_DAYS, 400, seed=11, fault_rate=0.01))
    (paths.root / "sample_manifest.json").write_text(manifest.to_json())
    return paths


@pytest.fixture
def data_dir(generated_sample: DataDir, tmp_path: Path) -> DataDir:
    """A private copy of the sample, with the catalog already in its warehouse."""
    paths = DataDir(tmp_path / "data")
    shutil.copytree(generated_sample.root, paths.root)
    with connect(paths.warehouse) as con:
        write_catalog(con, read_catalog(paths.catalog))
    return paths


def pytest_configure(config):
    # Definitions load the dbt manifest; prepare it once (lock-protected across xdist workers).
    from billing_pipeline.lib.rating.project import prepare_manifest

    prepare_manifest()


def sample_days() -> list[date]:
    return [date.fromordinal(SAMPLE_START.toordinal() + i) for i in range(SAMPLE_DAYS)]


def manifest(paths: DataDir) -> dict:
    return json.loads((paths.root / "sample_manifest.json").read_text())
