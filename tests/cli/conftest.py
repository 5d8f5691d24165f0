from pathlib import Path

import pytest

from tests.cli.commands import cli


@pytest.fixture(scope="session")
def four_landed_days(tmp_path_factory) -> Path:
    """A data folder with the catalog and four landed days around a month end (August closes on
    September 4 and is issued); never run here: tests copy it."""
    data = tmp_path_factory.mktemp("landed") / "data"
    cli(data, "generate", "--accounts", "8", "--start", "2026-08-30", "--days", "4", "--events-per-day", "120",
        "--no-file-faults").check_returncode()
    return data
