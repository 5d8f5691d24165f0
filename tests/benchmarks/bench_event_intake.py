"""Quota API event intake: durable events/s against appending the same bytes with fsync.

    python tests/benchmarks/bench_event_intake.py [--runs 3] [--seconds 5]

- Intake: one single-worker uvicorn process (`quotas_api.app:app` on a sample data folder); 4 client
  threads post batches of 100 valid events (httpx, keep-alive) for `seconds`; events/s = accepted
  events / wall time. Baseline, same run: the same NDJSON bytes appended to a file with one fsync per
  batch of 100, in this process, no web stack, no judging. Runs alternate; medians and their ratio.

Not measured here yet: quota lookup p99 at 1,000 req/s while ingesting. A Python asyncio client
(httpx) beside the posting threads could not hold 1,000 req/s on this 2-core machine (its requests
queued behind each other, so it measured the client); it needs a lighter load generator.

The load generator is Python on the same 2 cores as the server: it spends CPU the server would
otherwise have, so events/s is a lower bound of what the server can do.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "quotas_api"))

from live_service import write_live_service  # noqa: E402
from sample_service import SERVICE_KEY, bearer  # noqa: E402
from uvicorn_process import uvicorn_server  # noqa: E402

BATCH = 100
HEADERS = bearer(SERVICE_KEY)


def batch_body(prefix: str, number: int) -> bytes:
    now = datetime.now(UTC).isoformat()
    return json.dumps([{"event_id": f"{prefix}-{number}-{n}", "account_id": "acme", "metric": "api_calls",
                        "quantity": 1, "occurred_at": now} for n in range(BATCH)]).encode()


def post_for(base_url: str, prefix: str, seconds: float) -> int:
    accepted, number = 0, 0
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=base_url, headers={**HEADERS, "content-type": "application/json"}, timeout=30) as client:
        while time.monotonic() < deadline:
            answer = client.post("/v1/events", content=batch_body(prefix, number))
            answer.raise_for_status()
            accepted += answer.json()["accepted"]
            number += 1
    return accepted


def intake_rate(base_url: str, seconds: float, run: int, threads: int = 4) -> float:
    results = [0] * threads

    def worker(i: int) -> None:
        results[i] = post_for(base_url, f"r{run}t{i}", seconds)

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(results) / (time.monotonic() - started)


def append_rate(folder: Path, seconds: float, run: int) -> float:
    """The same lines, appended and fsynced per batch: the floor of durable intake on this disk."""
    lines = [json.dumps(event).encode() + b"\n" for event in json.loads(batch_body(f"b{run}", 0))]
    data = b"".join(lines)
    fd = os.open(folder / f"baseline-{run}.ndjson", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    events, deadline, started = 0, time.monotonic() + seconds, time.monotonic()
    try:
        while time.monotonic() < deadline:
            os.write(fd, data)
            os.fsync(fd)
            events += BATCH
    finally:
        os.close(fd)
    return events / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_intake_") as tmp:
        data_dir = Path(tmp)
        write_live_service(data_dir)
        intake, baseline = [], []
        with uvicorn_server("quotas_api.app:app", {"BILLING_DATA_DIR": str(data_dir)}, data_dir / "server.log",
                            extra_args=("--log-level", "warning", "--no-access-log")) as server:
            for run in range(args.runs):
                intake.append(intake_rate(server.base_url, args.seconds, run))
                baseline.append(append_rate(data_dir, args.seconds, run))
                print(f"run {run + 1}: intake {intake[-1]:,.0f} events/s, append+fsync {baseline[-1]:,.0f} events/s",
                      flush=True)
    ratio = statistics.median(baseline) / statistics.median(intake)
    print(f"intake (1 worker, batches of {BATCH}): {statistics.median(intake):,.0f} events/s (median of {args.runs})")
    print(f"append + fsync per batch, same bytes: {statistics.median(baseline):,.0f} events/s; intake is {ratio:.1f}x slower")
    return 0


if __name__ == "__main__":
    sys.exit(main())
