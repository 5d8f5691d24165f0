"""A run rewrites a period's reports only when what they are built from changed (`billing-pipeline run`'s
report step asks reports_current)."""

import json

from billing_pipeline.exchange import stripe_inbox
from billing_pipeline.lib.publish.stripe_events import EventLoad, load_inbox
from billing_pipeline.lib.report.pack import INPUTS, reports_current, write_period_reports
from billing_pipeline.lib.warehouse import connect
from tests.report.report_world import FEBRUARY, JANUARY, private_copy


def _current(world, period: str) -> bool:
    with connect(world.warehouse, read_only=True) as con:
        return reports_current(con, period, world.reports)


def _write(world, period: str) -> None:
    with connect(world.warehouse, read_only=True) as con:
        write_period_reports(con, period, world.reports)


def test_reports_are_current_once_written_until_a_payment_event_for_their_period_lands(report_world, tmp_path):
    world = private_copy(report_world, tmp_path / "world")
    assert not _current(world, JANUARY) and not _current(world, FEBRUARY)  # never written
    _write(world, JANUARY)
    _write(world, FEBRUARY)
    assert _current(world, JANUARY) and _current(world, FEBRUARY)
    # Stripe says January's open invoice was paid: January's reports show payment status, February's do not
    paid = {"id": "evt_late_paid", "type": "invoice.paid", "created": 1773300000,
            "data": {"object": {"id": "in_late", "amount_paid": 100, "currency": "usd"}}}
    stripe_inbox.receive(world.root / "inbox", paid["id"], json.dumps(paid).encode())
    with connect(world.warehouse) as con:
        counts = EventLoad()
        load_inbox(con, world.root / "inbox", counts)
    assert counts.recorded == 1
    assert not _current(world, JANUARY) and _current(world, FEBRUARY)
    _write(world, JANUARY)
    assert _current(world, JANUARY)


def test_a_report_folder_without_its_inputs_fingerprint_is_written_again(report_world, tmp_path):
    world = private_copy(report_world, tmp_path / "world")
    _write(world, JANUARY)
    (world.reports / JANUARY / INPUTS).unlink()  # a folder written before fingerprints were kept
    assert not _current(world, JANUARY)
