"""Figures that move between snapshots are rendered exactly as the snapshot file renders them, and
keys take effect without a restart."""

import time
from datetime import UTC, datetime
from pathlib import Path

from starlette.testclient import TestClient

from billing_pipeline.exchange.quota_snapshot import read_quota_snapshot, render_quota, write_quota_snapshot
from quota_rows import synthetic_quota_rows
from quotas_api.api_keys import add_key_to_file, key_entry
from quotas_api.app import create_app
from quotas_api.settings import Settings
from sample_service import bearer


def test_a_live_quota_fragment_is_the_text_the_snapshot_file_holds_for_the_same_figures(tmp_path: Path):
    write_quota_snapshot(synthetic_quota_rows(300), tmp_path, datetime.now(UTC))
    snapshot = read_quota_snapshot(tmp_path / "quota_snapshot.parquet")

    rendered = [render_quota(r["metric"], r["enforcement"], r["included"], r["limit"], r["used"]).decode()
                for r in snapshot.rows.iter_rows(named=True)]

    assert rendered == snapshot.serving["serving_quota"].to_list()


def test_a_new_key_works_and_a_revoked_one_stops_without_a_restart(settings: Settings):
    new_key = "qk_test_added_later_0123456789"
    with TestClient(create_app(settings)) as client:
        before = client.get("/v1/accounts/acme/quotas", headers=bearer(new_key)).status_code
        add_key_to_file(settings.api_keys_file, key_entry("late", new_key, "acme"))
        deadline = time.monotonic() + 10
        while client.get("/v1/accounts/acme/quotas", headers=bearer(new_key)).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        settings.api_keys_file.write_text(settings.api_keys_file.read_text().replace("name: late", "name: late\n  revoked: x"))
        # A file that does not parse keeps the keys in force; removing the entry revokes it.
        lines = settings.api_keys_file.read_text().splitlines()
        start = lines.index("- name: late")
        settings.api_keys_file.write_text("\n".join(lines[:start] + lines[start + 4:]) + "\n")
        while client.get("/v1/accounts/acme/quotas", headers=bearer(new_key)).status_code != 401:
            assert time.monotonic() < deadline + 10
            time.sleep(0.02)

    assert before == 401
