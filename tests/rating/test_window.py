from datetime import date, datetime, timezone

import pytest

from billing_pipeline.lib.rating.window import (
    RatingWindow, closing_day, is_closed, month_closing_on, months_to_rate, next_month, period_key,
    window_for_partitions,
)


def test_a_month_closes_once_its_end_plus_the_grace_period_has_passed():
    january = date(2026, 1, 1)
    assert not is_closed(january, date(2026, 2, 3))
    assert is_closed(january, date(2026, 2, 4))
    assert is_closed(january, date(2026, 2, 1), grace_days=0)
    assert closing_day(january) == date(2026, 2, 4)
    assert closing_day(date(2026, 12, 1), grace_days=10) == date(2027, 1, 11)


def test_exactly_one_month_closes_on_its_closing_day_and_none_on_other_days():
    assert month_closing_on(date(2026, 2, 4)) == date(2026, 1, 1)
    assert month_closing_on(date(2027, 1, 4)) == date(2026, 12, 1)
    assert month_closing_on(date(2026, 3, 1), grace_days=0) == date(2026, 2, 1)
    assert month_closing_on(date(2026, 2, 5)) is None
    assert month_closing_on(date(2026, 2, 3)) is None


def test_a_single_monthly_partition_becomes_the_dbt_vars_of_that_month():
    start = datetime(2026, 2, 1, tzinfo=timezone.utc)
    window = window_for_partitions(start, datetime(2026, 3, 1, tzinfo=timezone.utc), date(2026, 3, 10), 3)
    assert window.dbt_vars() == {"period_start": "2026-02-01", "period_end": "2026-03-01",
                                 "as_of": "2026-03-10", "grace_days": 3}
    assert window.closed_months == [date(2026, 2, 1)]


def test_a_backfill_range_rates_its_months_in_one_window_and_knows_which_are_closed(tmp_path):
    window = window_for_partitions(date(2025, 11, 1), date(2026, 3, 1), as_of=date(2026, 2, 2), grace_days=3)
    assert window.months == [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
    assert window.closed_months == [date(2025, 11, 1), date(2025, 12, 1)]
    assert window.dbt_vars(tmp_path / "billing.duckdb")["warehouse_path"] == str(tmp_path / "billing.duckdb")


def test_a_window_that_is_not_whole_months_or_has_a_negative_grace_is_refused():
    with pytest.raises(ValueError, match="whole months"):
        RatingWindow(date(2026, 1, 2), date(2026, 2, 1), date(2026, 3, 1))
    with pytest.raises(ValueError, match="whole months"):
        RatingWindow(date(2026, 2, 1), date(2026, 2, 1), date(2026, 3, 1))
    with pytest.raises(ValueError, match="grace_days"):
        RatingWindow(date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), grace_days=-1)


def test_the_run_command_rates_every_month_from_the_first_through_the_open_one():
    assert months_to_rate(date(2026, 1, 15), as_of=date(2026, 3, 2)) == ("2026-01-01", "2026-03-01")
    assert period_key(date(2026, 12, 31)) == "2026-12-01"
    assert next_month(date(2026, 12, 15)) == date(2027, 1, 1)
    with pytest.raises(ValueError):
        months_to_rate(date(2026, 4, 1), as_of=date(2026, 3, 2))


def test_the_window_reaches_dbt_as_environment_variables_that_its_window_var_macro_reads():
    window = RatingWindow(date(2026, 2, 1), date(2026, 3, 1), date(2026, 3, 10), 3)
    assert window.dbt_env() == {"BILLING_RATING_PERIOD_START": "2026-02-01", "BILLING_RATING_PERIOD_END": "2026-03-01",
                                "BILLING_RATING_AS_OF": "2026-03-10", "BILLING_RATING_GRACE_DAYS": "3"}
