"""Ingestion works file by file: an unchanged file is never read again, a new, changed or removed
file touches only its own rows, and each load says which (usage day, account) pairs it changed."""

import os
import random
import shutil
from datetime import date

import polars as pl

from billing_pipeline.lib.ingest.usage_events import ingest_day
from billing_pipeline.lib.warehouse import connect
from tests.conftest import sample_days
from tests.ingest.landed import event

DAY = date(2026, 8, 30)
AT = "2026-08-30T10:00:00Z"
LOADED = "SELECT event_id, quantity, occurred_at, landing_date, source_file, line_number FROM raw.usage_events_loaded ORDER BY ALL"
QUARANTINED = "SELECT source_file, line_number, reason FROM raw.quarantine ORDER BY ALL"
ACCOUNTING = "SELECT * EXCLUDE (bytes) FROM raw.ingest_accounting ORDER BY ALL"


def ingest(paths, days, reread=False):
    with connect(paths.warehouse) as con:
        for day in days:
            ingest_day(con, paths.landing_usage, day, reread=reread)


def frame(paths, sql: str, *params) -> pl.DataFrame:
    with connect(paths.warehouse, read_only=True) as con:
        return pl.from_arrow(con.sql(sql, params=list(params) or None).to_arrow_table())


def ingested_at(paths) -> dict[str, object]:
    return dict(frame(paths, "SELECT source_file, ingested_at FROM raw.ingest_files").iter_rows())


def test_a_file_landed_again_with_the_same_content_is_not_read_again(data_dir):
    ingest(data_dir, sample_days())
    before, loads = ingested_at(data_dir), frame(data_dir, "SELECT count(*) FROM raw.ingest_loads").item()
    for path in data_dir.day_folder(DAY.isoformat()).iterdir():
        os.utime(path)  # touched, same bytes: hashed, found the same, not read
    ingest(data_dir, sample_days())
    assert ingested_at(data_dir) == before
    assert frame(data_dir, "SELECT count(*) FROM raw.ingest_loads").item() == loads


def test_a_new_file_adds_only_its_own_rows_and_logs_the_days_and_accounts_it_touched(data_dir):
    ingest(data_dir, sample_days())
    before = ingested_at(data_dir)
    (data_dir.day_folder(DAY.isoformat()) / "late.ndjson").write_text(
        event("new-1", "2026-08-30T10:00:00Z") + "\n" + event("new-2", "2026-08-29T23:00:00Z") + "\n")
    ingest(data_dir, [DAY])
    after = ingested_at(data_dir)
    assert {f for f in after if after[f] != before.get(f)} == {"2026-08-30/late.ndjson"}
    [(load_id, files_read, removed)] = frame(
        data_dir, "SELECT load_id, files_read, files_removed FROM raw.ingest_loads ORDER BY load_id DESC LIMIT 1").rows()
    assert (files_read, removed) == (1, 0)
    changes = frame(data_dir, "SELECT usage_date, account_id FROM raw.usage_changes WHERE load_id = ? ORDER BY ALL", load_id).rows()
    assert changes == [(date(2026, 8, 29), "acct_0001"), (date(2026, 8, 30), "acct_0001")]


def test_a_changed_or_removed_file_replaces_only_its_own_rows(data_dir):
    ingest(data_dir, sample_days())
    folder = data_dir.day_folder(DAY.isoformat())
    (folder / "one.ndjson").write_text(event("one-1", AT) + "\n")
    (folder / "two.ndjson").write_text(event("two-1", AT) + "\n")
    ingest(data_dir, [DAY])
    others = "SELECT * FROM raw.usage_events WHERE source_file <> '2026-08-30/one.ndjson' ORDER BY ALL"
    untouched = frame(data_dir, others)
    (folder / "one.ndjson").write_text(event("one-1", AT, quantity=5) + "\n" + event("one-2", AT) + "\n")
    ingest(data_dir, [DAY])
    assert frame(data_dir, others).equals(untouched)
    assert frame(data_dir, "SELECT event_id, quantity::INT FROM raw.usage_events WHERE source_file = '2026-08-30/one.ndjson' "
                           "ORDER BY ALL").rows() == [("one-1", 5), ("one-2", 1)]
    (folder / "one.ndjson").unlink()
    ingest(data_dir, [DAY])
    assert frame(data_dir, "SELECT count(*) FROM raw.usage_events WHERE source_file = '2026-08-30/one.ndjson'").item() == 0
    assert frame(data_dir, "SELECT count(*) FROM raw.ingest_files WHERE source_file = '2026-08-30/one.ndjson'").item() == 0
    assert frame(data_dir, others).equals(untouched)


def test_an_older_copy_landing_later_takes_over_and_logs_the_day_of_the_copy_it_replaced(data_dir):
    ingest(data_dir, sample_days())
    later, earlier = data_dir.day_folder("2026-09-02"), data_dir.day_folder("2026-08-28")
    (later / "copy.ndjson").write_text(event("moved", "2026-09-02T10:00:00Z", quantity=9) + "\n")
    ingest(data_dir, [date(2026, 9, 2)])
    (earlier / "copy.ndjson").write_text(event("moved", "2026-08-28T10:00:00Z", quantity=3) + "\n")
    ingest(data_dir, [date(2026, 8, 28)])
    assert frame(data_dir, "SELECT occurred_at::DATE, quantity::INT FROM raw.usage_events_loaded WHERE event_id = 'moved'").rows() == [
        (date(2026, 8, 28), 3)]
    # the September day lost its copy: the load names it, so the rating rebuilds it too
    changes = frame(data_dir, """SELECT usage_date FROM raw.usage_changes
                                 WHERE load_id = (SELECT max(load_id) FROM raw.ingest_loads) ORDER BY ALL""")["usage_date"]
    assert changes.to_list() == [date(2026, 8, 28), date(2026, 9, 2)]


def test_files_ingested_one_at_a_time_in_any_order_give_what_one_ingest_of_everything_gives(data_dir, tmp_path):
    """Randomized arrival: each file lands (and is ingested) on its own, in a shuffled order, some
    twice; the result equals a single ingest of the final folders."""
    whole = type(data_dir)(tmp_path / "whole")
    shutil.copytree(data_dir.root, whole.root)
    ingest(whole, sample_days())
    landed = sorted(p for p in data_dir.landing_usage.rglob("*") if p.is_file())
    stash = tmp_path / "stash"
    for path in landed:
        target = stash / path.relative_to(data_dir.landing_usage)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    rng = random.Random(14)
    order = landed + rng.sample(landed, 5)  # five re-deliveries of the same bytes
    rng.shuffle(order)
    for path in order:
        shutil.copy2(stash / path.relative_to(data_dir.landing_usage), path)
        ingest(data_dir, [date.fromisoformat(path.relative_to(data_dir.landing_usage).parts[0])])
    for sql in (LOADED, QUARANTINED, ACCOUNTING):
        assert frame(data_dir, sql).equals(frame(whole, sql)), sql


def test_a_catalog_change_reads_again_only_the_files_it_changes(data_dir):
    (data_dir.day_folder(DAY.isoformat()) / "newcomer.ndjson").write_text(
        event("n-1", AT).replace("acct_0001", "acct_new") + "\n")
    ingest(data_dir, [DAY])
    assert frame(data_dir, "SELECT reason FROM raw.quarantine WHERE source_file = '2026-08-30/newcomer.ndjson'").item() == "unknown_account"
    before = ingested_at(data_dir)
    with connect(data_dir.warehouse) as con:
        con.execute("INSERT INTO catalog.accounts (account_id) VALUES ('acct_new')")
    ingest(data_dir, [DAY])
    after = ingested_at(data_dir)
    assert {f for f in after if after[f] != before[f]} == {"2026-08-30/newcomer.ndjson"}
    assert frame(data_dir, "SELECT account_id FROM raw.usage_events_loaded WHERE event_id = 'n-1'").item() == "acct_new"


def test_reread_reads_every_file_again_and_gives_the_same_rows(data_dir):
    ingest(data_dir, sample_days())
    before = [frame(data_dir, sql) for sql in (LOADED, QUARANTINED, ACCOUNTING)]
    times = ingested_at(data_dir)
    ingest(data_dir, sample_days(), reread=True)
    assert all(a.equals(frame(data_dir, sql)) for a, sql in zip(before, (LOADED, QUARANTINED, ACCOUNTING)))
    assert all(ingested_at(data_dir)[f] != times[f] for f in times if not f.endswith("/"))
