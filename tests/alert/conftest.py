import shutil
from pathlib import Path

import pytest

from billing_pipeline.exchange.data_dir import DataDir
from tests.alert.alert_world import build_alert_world


@pytest.fixture(scope="session")
def rated_alert_world(tmp_path_factory) -> DataDir:
    """Built and rated once per test process; tests work on copies."""
    return build_alert_world(tmp_path_factory.mktemp("alert_world"))


@pytest.fixture
def alert_data(rated_alert_world: DataDir, tmp_path: Path) -> DataDir:
    paths = DataDir(tmp_path / "data")
    shutil.copytree(rated_alert_world.root, paths.root)
    return paths
