"""The event rules' helper function registered from many cursors of one database at once (the API's
worker threads each judge on their own cursor) never fails."""

import threading

import duckdb

from billing_pipeline.lib.ingest.event_rules import EXACT_NUMBER_FUNCTION, prepare


def test_prepare_from_concurrent_cursors_registers_the_helper_once_without_error():
    for _ in range(20):
        con = duckdb.connect(":memory:")
        cursors = [con.cursor() for _ in range(8)]
        start, errors = threading.Barrier(len(cursors)), []

        def register(cursor: duckdb.DuckDBPyConnection) -> None:
            start.wait()
            try:
                prepare(cursor)
            except Exception as exc:  # what the race raised before prepare tolerated it
                errors.append(exc)

        threads = [threading.Thread(target=register, args=(c,)) for c in cursors]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert con.execute(f"SELECT {EXACT_NUMBER_FUNCTION}('{{\"quantity\": 1.50}}', 'quantity')").fetchall() == [("1.50",)]
        con.close()
