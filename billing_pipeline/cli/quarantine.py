"""`billing-pipeline quarantine`: what ingestion set aside, and why."""

import argparse

from billing_pipeline.cli.common import data_dir


def quarantine(args: argparse.Namespace) -> int:
    """What was set aside and why: the first thing to look at when a day's numbers look wrong."""
    from billing_pipeline.lib.warehouse import connect

    paths = data_dir(args)
    where, params = ("WHERE landing_date = ?", [args.day]) if args.day else ("", [])
    with connect(paths.warehouse, read_only=True) as con:
        rows = con.execute(f"SELECT reason, count(*) FROM raw.quarantine {where} GROUP BY ALL ORDER BY 2 DESC", params).fetchall()
        examples = con.execute(f"""SELECT source_file, line_number, reason, detail FROM raw.quarantine {where}
                                   ORDER BY landing_date, source_file, line_number LIMIT ?""", [*params, args.limit]).fetchall()
    for reason, count in rows:
        print(f"{count:>8,}  {reason}")
    for source_file, line, reason, detail in examples:
        print(f"{source_file}:{line if line is not None else '-'}  {reason}: {detail}")
    return 0
