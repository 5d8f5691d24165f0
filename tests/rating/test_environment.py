import os
import subprocess
import sys

from billing_pipeline.lib.rating.environment import scoped_environment


def test_a_scoped_environment_is_visible_to_a_child_process_inside_and_restored_after(monkeypatch):
    monkeypatch.setenv("BILLING_RATING_AS_OF", "2026-01-01")
    monkeypatch.delenv("BILLING_RATING_PERIOD_START", raising=False)
    read = [sys.executable, "-c", "import os; print(os.environ['BILLING_RATING_AS_OF'], os.environ['BILLING_RATING_PERIOD_START'])"]
    with scoped_environment({"BILLING_RATING_AS_OF": "2026-03-10", "BILLING_RATING_PERIOD_START": "2026-03-01"}):
        seen = subprocess.run(read, capture_output=True, text=True, check=True).stdout.split()
    assert seen == ["2026-03-10", "2026-03-01"]
    assert os.environ["BILLING_RATING_AS_OF"] == "2026-01-01"
    assert "BILLING_RATING_PERIOD_START" not in os.environ
