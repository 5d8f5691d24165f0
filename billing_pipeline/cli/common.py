"""What every command shares: the data folder it works on and today's date (UTC)."""

import argparse
import os
from datetime import date, datetime, timezone
from pathlib import Path

from billing_pipeline.exchange.data_dir import DataDir


def today() -> date:
    return datetime.now(timezone.utc).date()


def data_dir(args: argparse.Namespace) -> DataDir:
    root = Path(args.data_dir or os.environ.get("BILLING_DATA_DIR", "data")).resolve()
    # Dagster resources read it through EnvVar at run time; set it before Definitions load.
    os.environ["BILLING_DATA_DIR"] = str(root)
    return DataDir(root)
