"""`billing-pipeline`: the operator's commands, all running the same Dagster assets in-process."""

import argparse
import sys
from datetime import date

from billing_pipeline.cli.generate import generate
from billing_pipeline.cli.quarantine import acknowledge, quarantine
from billing_pipeline.cli.run import run


def day(text: str) -> date:
    """A YYYY-MM-DD day, with an error that names the expected form."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day: expected YYYY-MM-DD, e.g. 2026-10-31") from None


def count(text: str) -> int:
    """A whole number >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return int(text)


def _data_dir_option(parser: argparse.ArgumentParser, default=None) -> None:
    parser.add_argument("--data-dir", default=default, metavar="DIR",
                        help="the data folder: catalog/, landing/, warehouse/... (default: $BILLING_DATA_DIR, else ./data)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="billing-pipeline", description=__doc__)
    _data_dir_option(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = commands.add_parser("generate", help="write a seeded sample catalog and landed usage files",
                              description="Write a seeded sample into the data folder: the catalog (every pricing model, "
                                          "trials, credits, overrides) and landed usage with every fault kind.")
    _data_dir_option(gen, argparse.SUPPRESS)
    gen.add_argument("--accounts", type=count, default=200, metavar="N", help="number of accounts (default: 200)")
    gen.add_argument("--start", type=day, metavar="YYYY-MM-DD",
                     help="first landing day (default: the first day of the month two months back)")
    gen.add_argument("--days", type=count, metavar="N", help="number of landing days (default: up to yesterday)")
    gen.add_argument("--events-per-day", type=count, default=2000, metavar="N",
                     help="usage events per landing day before faults are added (default: 2000)")
    gen.add_argument("--seed", type=int, default=7, metavar="N",
                     help="random seed: the same seed writes the same files byte for byte (default: 7)")
    gen.add_argument("--format", choices=["ndjson", "parquet"], default="ndjson",
                     help="file format of the landed usage (default: ndjson)")
    gen.add_argument("--no-file-faults", action="store_true", help="leave out the unreadable sample files")
    gen.add_argument("--hostile", action="store_true",
                     help="also write a hostile day: every fault ingestion must survive, with valid events mixed in")
    gen.set_defaults(func=generate)

    run_cmd = commands.add_parser(
        "run", help="ingest, rate, publish, report and alert: everything due in the data folder",
        description="Load the catalog, ingest every landed day, rate every month from the first subscription through "
                    "the open one (closed months are issued), publish issued months to Stripe, write their finance "
                    "reports and send the as-of day's usage alerts. Safe to run again at any time: it carries on "
                    "where the last run stopped and never bills twice.")
    _data_dir_option(run_cmd, argparse.SUPPRESS)
    run_cmd.add_argument("--as-of", type=day, metavar="YYYY-MM-DD",
                         help="the business day that decides which months are closed, no later than today "
                              "(default: today, UTC)")
    run_cmd.add_argument("--full-refresh", action="store_true",
                         help="read every landed file again and rebuild the incremental usage models from every event "
                              "(issued months stay as issued); by default only what changed is read and re-rated")
    run_cmd.set_defaults(func=run)

    quar = commands.add_parser("quarantine", help="what ingestion set aside and why",
                               description="Counts of quarantined lines and files by reason with the first file:line "
                                           "of each, changed files of issued months, and held periods.")
    _data_dir_option(quar, argparse.SUPPRESS)
    quar.add_argument("--day", type=day, metavar="YYYY-MM-DD", help="only this landing day (default: every day)")
    quar.add_argument("--limit", type=count, default=1, metavar="N", help="lines shown per reason (default: 1)")
    quar.set_defaults(func=quarantine)

    ack = commands.add_parser("acknowledge", help="accept a change to a landed file of an issued month",
                              description="Accept a change to a landed file of an issued month: the billed rows "
                                          "stand and the next close is no longer held by it.")
    _data_dir_option(ack, argparse.SUPPRESS)
    ack.add_argument("file", help="the file as listed by `quarantine`, e.g. 2026-08-03/usage.ndjson")
    ack.add_argument("--note", default="", metavar="TEXT", help="why, for the record (default: none)")
    ack.set_defaults(func=acknowledge)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
