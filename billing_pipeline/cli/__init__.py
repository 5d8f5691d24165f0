"""`billing-pipeline`: the operator's commands, all running the same Dagster assets in-process."""

import argparse
import sys
from datetime import date

from billing_pipeline.cli.generate import generate
from billing_pipeline.cli.quarantine import acknowledge, quarantine
from billing_pipeline.cli.run import run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="billing-pipeline", description=__doc__)
    parser.add_argument("--data-dir", help="data folder (default: $BILLING_DATA_DIR or ./data)")
    commands = parser.add_subparsers(dest="command", required=True)

    gen = commands.add_parser("generate", help="write a seeded sample catalog and landed usage files")
    gen.add_argument("--data-dir", default=argparse.SUPPRESS)
    gen.add_argument("--accounts", type=int, default=200)
    gen.add_argument("--start", type=date.fromisoformat, help="first landing day (default: first of the month two months back)")
    gen.add_argument("--days", type=int, help="number of landing days (default: up to yesterday)")
    gen.add_argument("--events-per-day", type=int, default=2000)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--format", choices=["ndjson", "parquet"], default="ndjson")
    gen.add_argument("--no-file-faults", action="store_true", help="leave out the unreadable sample files")
    gen.add_argument("--hostile", action="store_true",
                     help="also write a hostile day: every fault ingestion must survive, with valid events mixed in")
    gen.set_defaults(func=generate)

    run_cmd = commands.add_parser("run", help="ingest every landed day, rate every closed month and the open one, "
                                                  "publish issued months to Stripe, write reports, send alerts")
    run_cmd.add_argument("--data-dir", default=argparse.SUPPRESS)
    run_cmd.add_argument("--as-of", type=date.fromisoformat, help="the day that decides which months are closed (default: today, UTC)")
    run_cmd.set_defaults(func=run)

    quar = commands.add_parser("quarantine", help="what ingestion set aside and why: counts by reason, the first "
                                                  "file:line of each, changed files of issued months, held periods")
    quar.add_argument("--data-dir", default=argparse.SUPPRESS)
    quar.add_argument("--day", type=date.fromisoformat, help="only this landing day")
    quar.add_argument("--limit", type=int, default=1, help="lines shown per reason (default 1)")
    quar.set_defaults(func=quarantine)

    ack = commands.add_parser("acknowledge", help="accept a change to a landed file of an issued month: the billed rows "
                                                  "stand and the next close is no longer held by it")
    ack.add_argument("--data-dir", default=argparse.SUPPRESS)
    ack.add_argument("file", help="the file as listed by `quarantine`, e.g. 2026-08-03/usage.ndjson")
    ack.add_argument("--note", default="", help="why, for the record")
    ack.set_defaults(func=acknowledge)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
