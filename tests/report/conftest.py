import pytest

from billing_pipeline.lib.data_dir import DataDir
from tests.report.report_world import shared_world


@pytest.fixture(scope="session")
def report_world(tmp_path_factory) -> DataDir:
    # The parent of the per-worker base folder is shared by all xdist workers of this run.
    return shared_world(tmp_path_factory.getbasetemp().parent)
