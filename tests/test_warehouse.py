import subprocess
import sys
import time

import duckdb

from billing_pipeline.lib.warehouse import warehouse_holder


def test_the_process_holding_the_warehouse_is_named_until_it_lets_go(tmp_path):
    path = tmp_path / "billing.duckdb"
    assert warehouse_holder(path) is None  # no warehouse yet: nothing to wait for
    duckdb.connect(str(path)).close()
    assert warehouse_holder(path) is None
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, sys, time; c = duckdb.connect({str(path)!r}); "
                               "print('held', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert warehouse_holder(path) == holder.pid
    finally:
        holder.kill()
        holder.wait()
    deadline = time.monotonic() + 10
    while warehouse_holder(path) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert warehouse_holder(path) is None
