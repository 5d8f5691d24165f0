"""Operator mistakes end in one line, with nothing ingested, rated, issued or published."""

import os
import signal
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from billing_pipeline.cli import _parser
from billing_pipeline.cli.common import today
from billing_pipeline.lib.run_lock import LOCK_FILE, run_lock
from billing_pipeline.lib.warehouse import connect

from tests.cli.commands import CLI, cli as _cli, cli_env as _env


def _nothing_happened(data: Path) -> bool:
    return not (data / "warehouse").exists() and not (data / "stripe").exists()


def test_an_as_of_after_today_is_refused_in_one_line_and_nothing_is_done(four_landed_days):
    tomorrow = today() + timedelta(days=1)
    done = _cli(four_landed_days, "run", "--as-of", tomorrow.isoformat(), timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"--as-of {tomorrow} is after today ({today()}, UTC): months that have not happened "
                                   "are never issued")
    assert _nothing_happened(four_landed_days)


def test_an_as_of_before_the_first_data_is_refused_in_one_line(four_landed_days):
    done = _cli(four_landed_days, "run", "--as-of", "2025-06-01", timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == "--as-of 2025-06-01 is before the first data (2026-08-01, the first subscription's month)"
    assert _nothing_happened(four_landed_days)


def test_a_malformed_as_of_names_the_expected_form():
    with pytest.raises(SystemExit):
        _parser().parse_args(["run", "--as-of", "2026-13-01"])
    done = subprocess.run([CLI, "run", "--as-of", "10/31/2026"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "expected YYYY-MM-DD, e.g. 2026-10-31" in done.stderr
    assert "fromisoformat" not in done.stderr


def test_a_mistyped_data_folder_is_refused_and_nothing_is_generated_or_billed(tmp_path):
    typo = tmp_path / "dta"
    done = _cli(typo, "run", timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"no catalog at {typo / 'catalog' / 'plans.yaml'}: is {typo} the data folder? "
                                   "(`billing-pipeline generate` writes a sample there)")
    assert not typo.exists()


def test_a_second_run_on_the_same_folder_is_refused_naming_the_first(tmp_path):
    with run_lock(tmp_path):
        holder = (tmp_path / LOCK_FILE).read_text()
        started = time.monotonic()
        (tmp_path / "catalog").mkdir()
        (tmp_path / "catalog" / "plans.yaml").write_text("currency: usd\n")
        done = _cli(tmp_path, "run", "--as-of", today().isoformat(), timeout=60)
    assert time.monotonic() - started < 30
    assert done.returncode == 2
    assert f"pid {os.getpid()}" in done.stderr and "another billing-pipeline run is working on" in done.stderr
    assert f'"pid": {os.getpid()}' in holder
    assert not (tmp_path / "warehouse").exists()


def test_every_option_of_every_command_has_help_text():
    parser = _parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name, command in [("billing-pipeline", parser), *commands.items()]:
        for action in command._actions:
            if action.dest in ("help", "command") or action.help == "==SUPPRESS==":
                continue
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"
        assert command.description or name == "billing-pipeline", name


def test_sigterm_stops_a_run_in_one_line_and_the_next_run_carries_on(four_landed_days, tmp_path):
    data = tmp_path / "data"
    subprocess.run(["cp", "-r", str(four_landed_days), str(data)], check=True)
    as_of = date(2026, 9, 10).isoformat()
    process = subprocess.Popen([CLI, "run", "--as-of", as_of], env=_env(data), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    # Stop it once ingestion has written the warehouse: the rating (dbt) is the long step then.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not _log_mentions(data, "ingest_job 2026-09-02"):
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, out + err
    last = err.strip().splitlines()[-1]
    assert last.startswith("stopped by ") and last.endswith(": what finished is kept, the step in flight was rolled "
                                                            "back; run again to carry on"), err
    assert "Traceback" not in out + err

    again = _cli(data, "run", "--as-of", as_of, stripe=True)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    with connect(data / "warehouse" / "billing.duckdb", read_only=True) as con:
        [(issued,)] = con.execute("SELECT count(*) FROM fct_issued_invoices WHERE period = '2026-08'").fetchall()
    assert issued > 0


def _log_mentions(data: Path, text: str) -> bool:
    logs = list((data / "logs").glob("run-*.log")) if (data / "logs").is_dir() else []
    return any(text in log.read_text() for log in logs)
