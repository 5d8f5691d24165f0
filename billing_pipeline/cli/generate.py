"""`billing-pipeline generate`: a seeded sample catalog and landed usage in a data folder."""

import argparse
from datetime import date

from billing_pipeline.cli.common import data_dir, today


def default_start(as_of: date) -> date:
    """The first day of the month two months back: two closed months and the open one."""
    month = as_of.month - 2
    year = as_of.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1)


def generate(args: argparse.Namespace) -> int:
    from billing_pipeline.sample.catalog_files import write_catalog_files
    from billing_pipeline.sample.usage_files import UsageSpec, write_usage_files

    paths = data_dir(args)
    start = args.start or default_start(today())
    days = args.days or max(1, (today() - start).days)
    accounts = write_catalog_files(paths.catalog, args.accounts, start, days, args.seed)
    spec = UsageSpec(start=start, days=days, events_per_day=args.events_per_day, seed=args.seed,
                     file_format=args.format, file_faults=not args.no_file_faults, hostile=args.hostile)
    manifest = write_usage_files(paths.landing_usage, accounts, spec)
    (paths.root / "sample_manifest.json").write_text(manifest.to_json())
    print(f"generated {args.accounts} accounts, {days} days from {start}, {manifest.clean_events:,} events "
          f"with {sum(manifest.faults.values()):,} injected line faults into {paths.root}"
          + (f"; hostile day {manifest.hostile.day}" if manifest.hostile else ""))
    return 0
