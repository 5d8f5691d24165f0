import json
import os
import re
import subprocess
import sys
from pathlib import Path

from billing_pipeline.lib.warehouse import connect

CLI = str(Path(sys.executable).parent / "billing-pipeline")


def test_billing_pipeline_run_ingests_a_small_generated_folder_end_to_end(tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "BILLING_DATA_DIR": str(data)}
    env.pop("DAGSTER_HOME", None)
    subprocess.run([CLI, "generate", "--accounts", "12", "--start", "2026-08-30", "--days", "4", "--events-per-day", "200"],
                   env=env, check=True, capture_output=True)
    done = subprocess.run([CLI, "run", "--as-of", "2026-09-10"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ingested 4/4 landing days" in done.stdout
    # August closed on September 4 (3 grace days) and is issued; September is the open month.
    assert re.search(r"^2026-08 +\d+ invoices .* issued$", done.stdout, re.M), done.stdout[-2000:]
    assert re.search(r"^2026-09 +\d+ invoices .* draft$", done.stdout, re.M)
    manifest = json.loads((data / "sample_manifest.json").read_text())
    with connect(data / "warehouse" / "billing.duckdb", read_only=True) as con:
        read, loaded, dups, quarantined = con.execute(
            "SELECT sum(lines_read), sum(loaded), sum(duplicates), sum(quarantined) FROM raw.ingest_accounting").fetchone()
    assert read == loaded + dups + quarantined
    assert dups == manifest["faults"]["redelivery"]
    assert f"lines read {read:,}" in done.stdout
    report = subprocess.run([CLI, "quarantine", "--limit", "3"], env=env, capture_output=True, text=True, check=True)
    assert "unreadable_gzip" in report.stdout
