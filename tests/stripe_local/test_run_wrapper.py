"""`python -m stripe_local run -- <command>`: a server that lives exactly as long as the command."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

from stripe_local.store import STATE_FILE

from .conftest import wait_for
from .server_process import accepting

WRAPPER = [sys.executable, "-m", "stripe_local", "run"]
# A client of the server it is given, as the pipeline is one: the key and address come from the environment.
CREATE_CUSTOMER = """
import os, sys, httpx
answer = httpx.post(os.environ["STRIPE_API_BASE"] + "/v1/customers", data={"name": "Acme"},
                    auth=(os.environ["STRIPE_API_KEY"], ""))
print(answer.json()["id"])
sys.exit(3)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie has finished; only its parent's wait is missing


def test_the_command_reaches_the_server_through_its_environment_and_its_exit_status_is_kept(tmp_path: Path) -> None:
    done = subprocess.run([*WRAPPER, "--state-dir", str(tmp_path), "--", sys.executable, "-c", CREATE_CUSTOMER],
                          capture_output=True, text=True, timeout=60)

    customer_id = done.stdout.strip()
    saved = json.loads((tmp_path / STATE_FILE).read_text())
    assert done.returncode == 3
    assert re.search(r"local Stripe test server on http://127\.0\.0\.1:\d+ \(state in .*\) for: ", done.stderr)
    assert customer_id.startswith("cus_") and list(saved["tables"]["customers"]) == [customer_id]
    assert sorted(p.name for p in tmp_path.iterdir()) == [STATE_FILE]


def test_a_wrapper_killed_with_sigkill_leaves_no_server_and_no_command_running(tmp_path: Path) -> None:
    pid_file = tmp_path / "command.pid"
    command = [sys.executable, "-c", f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
                                     "time.sleep(120)"]
    wrapper = subprocess.Popen([*WRAPPER, "--state-dir", str(tmp_path / "stripe"), "--", *command],
                               stderr=subprocess.PIPE, text=True)
    try:
        port = int(re.search(r"127\.0\.0\.1:(\d+)", wrapper.stderr.readline()).group(1))
        command_pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text(), timeout=20))
        second = subprocess.run([*WRAPPER, "--state-dir", str(tmp_path / "stripe"), "--", "true"],
                                capture_output=True, text=True, timeout=60)
        assert accepting(port) and _alive(command_pid)

        wrapper.send_signal(signal.SIGKILL)
        wrapper.wait(timeout=10)

        assert not accepting(port)
        assert wait_for(lambda: not _alive(command_pid), timeout=10)
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
        wrapper.stderr.close()
    assert second.returncode == 2
    assert second.stderr.strip() == f"stripe_local: {tmp_path / 'stripe'} is in use by another local Stripe server"


def test_without_a_command_the_wrapper_says_what_it_needs() -> None:
    done = subprocess.run([*WRAPPER, "--autopay"], capture_output=True, text=True, timeout=60)

    assert done.returncode == 2 and "give the command to run after --" in done.stderr
