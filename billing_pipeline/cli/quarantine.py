"""`billing-pipeline quarantine` and `billing-pipeline acknowledge`: what ingestion set aside and why,
and accepting a change to a file of an issued month."""

import argparse
import sys
from contextlib import contextmanager
from typing import Iterator

import duckdb

from billing_pipeline.cli.common import data_dir
from billing_pipeline.exchange.data_dir import DataDir


class NoWarehouse(Exception):
    """The data folder has no warehouse that ingestion has written to."""


@contextmanager
def ingested_warehouse(paths: DataDir, read_only: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse, if ingestion ever ran there; NoWarehouse with a one-line reason otherwise."""
    from billing_pipeline.lib.warehouse import connect, relation_exists

    if not paths.warehouse.is_file():
        raise NoWarehouse(f"no warehouse at {paths.warehouse}: is {paths.root} the data folder? "
                          "(`billing-pipeline run` ingests and creates it)")
    try:
        with connect(paths.warehouse, read_only=read_only) as con:
            if not relation_exists(con, "raw", "quarantine"):
                raise NoWarehouse(f"nothing ingested yet in {paths.warehouse} (`billing-pipeline run` ingests)")
            yield con
    except duckdb.IOException as error:  # e.g. another process holds the write lock
        raise NoWarehouse(f"cannot open {paths.warehouse}: {str(error).splitlines()[0]}") from error


def quarantine(args: argparse.Namespace) -> int:
    """What was set aside and why: the first thing to look at when a day's numbers look wrong."""
    from billing_pipeline.lib.ingest.quarantine_report import report

    try:
        with ingested_warehouse(data_dir(args)) as con:
            lines = report(con, args.day, args.limit)
    except NoWarehouse as error:
        print(error, file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def acknowledge(args: argparse.Namespace) -> int:
    """Accept a change to a file of an issued month: the billed rows stand, the hold is lifted."""
    from billing_pipeline.lib.ingest.issued_files import NothingToAcknowledge, acknowledge as accept

    try:
        with ingested_warehouse(data_dir(args), read_only=False) as con:
            accept(con, args.file, args.note)
    except (NoWarehouse, NothingToAcknowledge) as error:
        print(error, file=sys.stderr)
        return 1
    print(f"acknowledged {args.file}: the rows billed from it stand, and it no longer holds the next close; "
          "land corrections as a new file in today's folder")
    return 0
