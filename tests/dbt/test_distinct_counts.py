"""unique_count metrics count each value once per run of days: per day, per segment (a value seen
in two segments counts in both, and in the uncovered row when also seen on a day without a
subscription) and per month."""

from datetime import date

from tests.dbt.rating_warehouse import Event, january_world


def _user(day: int, user: str) -> Event:
    occurred = f"2026-01-{day:02d} 09:00:00"
    return Event("cara", "active_users", "1", occurred, occurred[:10], user)


def test_distinct_users_are_counted_per_day_per_segment_and_per_month(tmp_path):
    world = january_world(tmp_path / "data")
    # cara's growth subscription starts Jan 10 with 10 trial days: Jan 1-9 uncovered, 10-19 trial, 20-31 paid
    world.land(_user(5, "u1"), _user(12, "u1"), _user(12, "u2"), _user(14, "u2"), _user(25, "u1"), _user(25, "u1"))
    assert world.rate(date(2026, 1, 1), date(2026, 1, 31)).success

    segments = world.query("""
        select is_covered, is_trial, quantity, event_count from int_usage__segments
        where account_id = 'cara' and metric = 'active_users' order by is_covered, is_trial""")
    assert [(s["is_covered"], s["is_trial"], int(s["quantity"]), s["event_count"]) for s in segments] == [
        (False, False, 1, 1), (True, False, 1, 2), (True, True, 2, 3)]
    daily = world.query("""
        select day(usage_date) as day, quantity from fct_usage_daily
        where account_id = 'cara' and metric = 'active_users' order by usage_date""")
    assert [(d["day"], int(d["quantity"])) for d in daily] == [(5, 1), (12, 2), (14, 1), (25, 1)]
    [monthly] = world.query("select quantity from fct_usage_monthly where account_id = 'cara' and metric = 'active_users'")
    assert int(monthly["quantity"]) == 2
    [line] = world.query("""
        select quantity from fct_invoice_lines
        where account_id = 'cara' and metric = 'active_users' and line_type = 'usage' and not is_trial""")
    assert int(line["quantity"]) == 1
