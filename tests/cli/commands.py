"""`billing-pipeline` as an operator runs it: a subprocess on one data folder. A run that publishes
goes through the local Stripe test server's wrapper, as `make demo` does, with its state in the folder."""

import os
import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).parent / "billing-pipeline")


def cli_env(data: Path) -> dict[str, str]:
    """The folder named by BILLING_DATA_DIR; no Dagster home and no configured start, as on a new machine."""
    env = {**os.environ, "BILLING_DATA_DIR": str(data)}
    for name in ("DAGSTER_HOME", "BILLING_START_DATE", "STRIPE_API_KEY", "STRIPE_API_BASE"):
        env.pop(name, None)
    return env


def with_local_stripe(data: Path, *command: str) -> list[str]:
    """The command under `python -m stripe_local run`: the server lives as long as it, its demo customers pay."""
    return [sys.executable, "-m", "stripe_local", "run", "--state-dir", str(data / "stripe"), "--autopay", "--", *command]


def cli(data: Path, *args: str, timeout: float = 900, stripe: bool = False) -> subprocess.CompletedProcess:
    command = with_local_stripe(data, CLI, *args) if stripe else [CLI, *args]
    return subprocess.run(command, env=cli_env(data), capture_output=True, text=True, timeout=timeout)
