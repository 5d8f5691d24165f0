"""A rated warehouse where each alert kind holds for some accounts and misses others by a hair.

February and March 2026 are rated as of 2026-03-15 (February is issued, March is the open month),
on the basic (api_calls: 1000 included, limit 5000) and growth (seats: 2 included, no limit;
10 trial days) plans of tests/dbt/rating_warehouse.py. Each account's comment says what it is for.
"""

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.publish.schema import ensure_publish_schema
from billing_pipeline.lib.warehouse import connect
from tests.dbt.rating_warehouse import Event, RatingWorld

AS_OF = date(2026, 3, 15)

ACCOUNTS = [
    ("q75", "active"),           # 3750 of a 5000 limit: exactly 75 %
    ("q7499", "active"),         # 3749.99: just under 75 %
    ("q100", "active"),          # 5000: 75, 90 and 100 %
    ("seats", "active"),         # growth, peak 2 seats of 2 included and no limit: 100 % of included
    ("halted", "suspended"),     # 5000 calls but suspended: no alerts
    ("trial", "active"),         # growth from 03-08, trial ends 03-18
    ("trialstop", "active"),     # the same trial, but the subscription ends with it
    ("credit", "active"),        # 50.00 granted 02-01: 19.00 left after February, 0 after March
    ("edge", "active"),          # 41.00 granted 03-01, March's 31.00 leaves exactly 10.00
    ("spiky", "active"),         # 100 calls a day, then 301 on 03-14: over 3 x the median
    ("steady", "active"),        # 100 calls a day, then 300 on 03-14: exactly 3 x, not over
    ("tiny", "active"),          # 10 a day, then 50: 5 x, but under the floor of 100
    ("newbie", "active"),        # first use on 03-10, 500 on 03-14: no 14-day history
]


def _at(day: date, hour: int = 12) -> str:
    return f"{day.isoformat()} {hour:02d}:00:00"


def _use(account: str, metric: str, quantity: str, day: date, hour: int = 12, user: str | None = None) -> Event:
    return Event(account, metric, quantity, _at(day, hour), day.isoformat(), user)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def build_alert_world(root: Path) -> DataDir:
    basic = lambda account, starts: (account, "basic", starts, "", "0")  # noqa: E731
    world = RatingWorld.create(
        root,
        accounts=ACCOUNTS,
        subscriptions=[
            basic("q75", "2026-03-01"), basic("q7499", "2026-03-01"), basic("q100", "2026-03-01"),
            ("seats", "growth", "2026-02-01", "", "0"), basic("halted", "2026-03-01"),
            ("trial", "growth", "2026-03-08", "", ""), ("trialstop", "growth", "2026-03-08", "2026-03-18", ""),
            basic("credit", "2026-02-01"), basic("edge", "2026-03-01"),
            basic("spiky", "2026-02-01"), basic("steady", "2026-02-01"), basic("tiny", "2026-02-01"),
            basic("newbie", "2026-03-01"),
        ],
        grants=[("credit-1", "credit", "50.00", "2026-02-01", "", "prepaid"),
                ("edge-1", "edge", "41.00", "2026-03-01", "", "prepaid")],
    )
    history = _days(date(2026, 2, 20), date(2026, 3, 13))
    spike = date(2026, 3, 14)
    world.land(
        _use("q75", "api_calls", "3000", date(2026, 3, 3)), _use("q75", "api_calls", "750", date(2026, 3, 9)),
        _use("q7499", "api_calls", "3749.99", date(2026, 3, 9)),
        _use("q100", "api_calls", "5000", date(2026, 3, 9)),
        _use("halted", "api_calls", "5000", date(2026, 3, 9)),
        _use("seats", "seats", "1", date(2026, 3, 2)), _use("seats", "seats", "2", date(2026, 3, 5)),
        _use("seats", "api_calls", "90000", date(2026, 3, 5)),  # growth's api_calls: no limit, none included
        *[_use(account, "api_calls", qty, day) for day in history
          for account, qty in (("spiky", "100"), ("steady", "100"), ("tiny", "10"))],
        _use("spiky", "api_calls", "301", spike), _use("steady", "api_calls", "300", spike),
        _use("tiny", "api_calls", "50", spike),
        _use("newbie", "api_calls", "5", date(2026, 3, 10)), _use("newbie", "api_calls", "500", spike),
    )
    run = world.rate(date(2026, 2, 1), AS_OF, last_month=date(2026, 3, 1))
    assert run.success, run.with_status("fail", "error")
    _publish_with_payment_events(world.paths)
    return world.paths


def _publish_with_payment_events(paths: DataDir) -> None:
    """February's invoices as the publisher records them: steady's payment failed on 03-05, spiky's
    failed on 03-05 and then went through on 03-06, tiny's went through."""
    at = lambda day, hour=9: datetime(2026, 3, day, hour, tzinfo=timezone.utc)  # noqa: E731
    with connect(paths.warehouse) as con:
        ensure_publish_schema(con)
        for account in ("steady", "spiky", "tiny"):
            con.execute("""INSERT INTO publish.invoice_publications (invoice_id, account_id, period, currency, total_cents,
                           content_hash, status, stripe_invoice_id, attempts, updated_at, finalized_at)
                           SELECT invoice_id, account_id, period, currency, total_cents, 'h', 'finalized', 'in_' || account_id,
                                  1, ?, ? FROM fct_issued_invoices WHERE account_id = ? AND period = '2026-02'""",
                        [at(4), at(4), account])
        events = [("evt_1", "invoice.payment_failed", "steady", at(5), "Your card was declined."),
                  ("evt_2", "invoice.payment_failed", "spiky", at(5), "Insufficient funds."),
                  ("evt_3", "invoice.paid", "spiky", at(6), None),
                  ("evt_4", "invoice.paid", "tiny", at(5), None)]
        con.executemany("""INSERT INTO publish.stripe_events (event_id, type, stripe_invoice_id, invoice_id, account_id,
                           period, amount_cents, currency, failure_message, occurred_at, loaded_at)
                           VALUES (?, ?, 'in_' || ?, 'INV-202602-' || ?, ?, '2026-02', 0, 'usd', ?, ?, ?)""",
                        [(eid, kind, acc, acc, acc, msg, when, when) for eid, kind, acc, when, msg in events])
