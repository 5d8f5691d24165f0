import os

import pytest

from billing_pipeline.exchange.data_dir import DataDir
from tests.report.report_world import shared_world


@pytest.fixture(scope="session")
def report_world(tmp_path_factory) -> DataDir:
    # Under xdist the parent of a worker's base folder is this run's, shared by its workers; without
    # xdist the base folder itself is this run's (its parent holds earlier runs: never reuse those).
    base = tmp_path_factory.getbasetemp()
    return shared_world(base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base)
