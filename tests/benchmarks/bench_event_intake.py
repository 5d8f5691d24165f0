"""Quota API event intake: durable events/s against appending the same bytes with fsync.

    python tests/benchmarks/bench_event_intake.py [--runs 3] [--seconds 5]

- Intake: one single-worker uvicorn process (`quotas_api.app:app` on a sample data folder);
  `--processes` client processes (default 2) each post batches of 100 valid events over
  `--connections` keep-alive connections at once (default 8; http.client, one thread per connection,
  bodies from a template) for `seconds`; events/s = accepted events / wall time. (The first version,
  4 httpx threads in one process, measured mostly its own client: 5,052 events/s.) Baseline, same run: the same NDJSON bytes appended to a file with one fsync per
  batch of 100, in this process, no web stack, no judging. Runs alternate; medians and their ratio.

- Lookups while ingesting (`--lookup-rate`, default 1,000 req/s): a separate client process sends
  quota lookups on a fixed schedule (request i at start + i / rate, from `--lookup-connections`
  keep-alive http.client connections, each taking the next scheduled request when free) and
  measures each latency from the request's *scheduled* send time, so a stalled server shows in
  the figures instead of slowing the sender (no coordinated omission). Meanwhile another process
  posts intake batches as above (one process, `--connections`): back to back (saturating), and
  again at a fixed `--intake-rate` (default 5,000 events/s, batches on a schedule), which leaves the
  2 cores some room: a saturating client takes CPU from the server and from the lookup client, so
  that variant measures the machine's contention as much as the server. The same schedule without
  intake runs first, as the reference of the same run. Reported: achieved rate, p50/p99/max, and how
  many requests were sent more than 1 ms after their scheduled time (the client falling behind).
  Lookups ask for api_calls of the three sample accounts, the metric the intake posts to, so
  every answer is moved on by live counts.

The load generator is Python on the same 2 cores as the server: it spends CPU the server would
otherwise have, so events/s is a lower bound of what the server can do.
"""

import argparse
import http.client
import itertools
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "quotas_api"))

from live_service import write_live_service  # noqa: E402
from sample_service import SERVICE_KEY, bearer  # noqa: E402
from uvicorn_process import uvicorn_server  # noqa: E402

BATCH = 100
HEADERS = bearer(SERVICE_KEY)


def batch_body(prefix: str, number: int) -> bytes:
    return _template().replace(b"@@", f"{prefix}-{number}".encode())


_TEMPLATES: list[bytes] = []


def _template() -> bytes:
    # Built once per process (ids filled in per batch with one replace): the client's CPU is the
    # server's too on this machine, so it does as little per request as it can.
    if not _TEMPLATES:
        now = datetime.now(UTC).isoformat()
        _TEMPLATES.append(json.dumps([{"event_id": f"@@-{n}", "account_id": "acme", "metric": "api_calls",
                                       "quantity": 1, "occurred_at": now} for n in range(BATCH)]).encode())
    return _TEMPLATES[0]


@dataclass
class Schedule:
    """Send times shared by one process's connections, for intake at a fixed rate."""

    start: float
    interval: float  # seconds between batches
    _numbers: "itertools.count[int]" = field(default_factory=itertools.count)  # next() is atomic under the GIL

    def wait_for_next(self) -> None:
        wait = self.start + next(self._numbers) * self.interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)


def post_for(port: int, prefix: str, seconds: float, schedule: Schedule | None = None) -> int:
    """Post batches over one keep-alive connection (http.client: no client-side parsing beyond the
    status line, headers and a small JSON answer) until `seconds` pass, back to back or each at its
    time on `schedule`; the events accepted."""
    accepted, number = 0, 0
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {**HEADERS, "content-type": "application/json"}
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if schedule is not None:
                schedule.wait_for_next()
            connection.request("POST", "/v1/events", body=batch_body(prefix, number), headers=headers)
            answer = connection.getresponse()
            body = answer.read()
            if answer.status != 202:
                raise RuntimeError(f"{answer.status}: {body[:200]!r}")
            accepted += json.loads(body)["accepted"]
            number += 1
    finally:
        connection.close()
    return accepted


def _client_process(port: int, prefix: str, seconds: float, connections: int, rate: float = 0.0) -> int:
    """Events accepted from `connections` connections posting back to back, or `rate` events/s in all."""
    results = [0] * connections
    schedule = Schedule(time.monotonic(), BATCH / rate) if rate else None

    def worker(i: int) -> None:
        results[i] = post_for(port, f"{prefix}c{i}", seconds, schedule)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(results)


def intake_rate(port: int, seconds: float, run: int, processes: int, connections: int) -> float:
    """`processes` client processes (outside the server's GIL and each other's), each posting over
    `connections` keep-alive connections at once: many requests in flight let group commit judge
    and fsync many batches in one go, as a busy service would."""
    with ProcessPoolExecutor(processes) as pool:
        started = time.monotonic()
        futures = [pool.submit(_client_process, port, f"r{run}p{p}", seconds, connections) for p in range(processes)]
        accepted = sum(f.result() for f in futures)
        return accepted / (time.monotonic() - started)


def fixed_rate_lookups(port: int, rate: float, seconds: float, connections: int) -> dict[str, float]:
    """Quota lookups at `rate` per second for `seconds`, latency measured from each request's
    scheduled send time (see the module docstring)."""
    paths = [f"/v1/accounts/{account}/quotas/api_calls" for account in ("acme", "globex", "initech")]
    total = int(rate * seconds)
    schedule = itertools.count()  # next() is atomic under the GIL: each request is taken once
    latencies: list[float] = []
    late_sends: list[float] = []
    failures: list[int] = []
    start = time.perf_counter() + 0.2

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while (i := next(schedule)) < total:
                scheduled = start + i / rate
                wait = scheduled - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                sent = time.perf_counter()
                connection.request("GET", paths[i % len(paths)], headers=HEADERS)
                answer = connection.getresponse()
                answer.read()
                done = time.perf_counter()
                latencies.append(done - scheduled)
                if sent - scheduled > 0.001:
                    late_sends.append(sent - scheduled)
                if answer.status != 200:
                    failures.append(answer.status)
        finally:
            connection.close()

    pool = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return {"requests": len(ordered), "achieved": len(ordered) / elapsed, "failures": len(failures),
            "p50_ms": ordered[len(ordered) // 2] * 1000, "p99_ms": ordered[int(len(ordered) * 0.99)] * 1000,
            "max_ms": ordered[-1] * 1000, "late_sends": len(late_sends)}


def lookups_while_ingesting(port: int, args: argparse.Namespace, run: str, intake_rate: float | None
                            ) -> tuple[dict[str, float], float]:
    """(lookup figures, intake events/s meanwhile): the lookups start 0.5 s into the intake and end
    before it. `intake_rate`: None no intake, 0 back to back, else events/s."""
    lookup_seconds = max(args.seconds - 1, 1)
    with ProcessPoolExecutor(2) as pool:
        intake = (pool.submit(_client_process, port, f"l{run}", lookup_seconds + 1, args.connections, intake_rate)
                  if intake_rate is not None else None)
        if intake:
            time.sleep(0.5)
        lookups = pool.submit(fixed_rate_lookups, port, args.lookup_rate, lookup_seconds, args.lookup_connections)
        figures = lookups.result()
        events = intake.result() / (lookup_seconds + 1) if intake else 0.0
    return figures, events


def _lookup_line(figures: dict[str, float]) -> str:
    return (f"{figures['achieved']:,.0f} req/s achieved ({figures['requests']:,.0f} requests, {figures['failures']:.0f} failed, "
            f"{figures['late_sends']:.0f} sent > 1 ms late), p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms, "
            f"max {figures['max_ms']:.1f} ms")


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
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections per client process")
    parser.add_argument("--lookup-rate", type=float, default=1000.0, help="fixed lookup rate, req/s (0: skip)")
    parser.add_argument("--lookup-connections", type=int, default=16, help="keep-alive connections of the lookup client")
    parser.add_argument("--intake-rate", type=float, default=5000.0,
                        help="fixed intake rate, events/s, for lookups beside intake that does not saturate (0: skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_intake_") as tmp:
        data_dir = Path(tmp)
        write_live_service(data_dir)
        intake, baseline = [], []
        with uvicorn_server("quotas_api.app:app", {"BILLING_DATA_DIR": str(data_dir)}, data_dir / "server.log",
                            extra_args=("--log-level", "warning", "--no-access-log")) as server:
            for run in range(args.runs):
                intake.append(intake_rate(int(server.base_url.rsplit(":", 1)[1]), args.seconds, run, args.processes, args.connections))
                baseline.append(append_rate(data_dir, args.seconds, run))
                print(f"run {run + 1}: intake {intake[-1]:,.0f} events/s, append+fsync {baseline[-1]:,.0f} events/s",
                      flush=True)
            port = int(server.base_url.rsplit(":", 1)[1])
            # (name, intake_rate as lookups_while_ingesting takes it) -> figures of each run
            variants: dict[tuple[str, float | None], list[dict[str, float]]] = {("no intake", None): [],
                                                                              ("while ingesting, saturating", 0.0): []}
            if args.intake_rate:
                variants[(f"while ingesting at {args.intake_rate:,.0f} events/s", args.intake_rate)] = []
            for run in range(args.runs if args.lookup_rate else 0):
                for variant, ((name, rate), runs) in enumerate(variants.items()):
                    figures, events = lookups_while_ingesting(port, args, f"{run}v{variant}", rate)
                    runs.append({**figures, "events": events})
                    accepted = f" ({events:,.0f} events/s accepted)" if rate is not None else ""
                    print(f"run {run + 1}: lookups at {args.lookup_rate:,.0f} req/s, {name}{accepted}: {_lookup_line(figures)}",
                          flush=True)
    ratio = statistics.median(baseline) / statistics.median(intake)
    print(f"intake (1 worker, batches of {BATCH}): {statistics.median(intake):,.0f} events/s (median of {args.runs})")
    print(f"append + fsync per batch, same bytes: {statistics.median(baseline):,.0f} events/s; intake is {ratio:.1f}x slower")
    for (name, rate), runs in variants.items():
        if runs:
            print(f"lookups at {args.lookup_rate:,.0f} req/s, {name} (medians of {len(runs)}): " + ", ".join(
                f"{figure} {statistics.median(r[figure] for r in runs):,.2f}"
                for figure in ("achieved", "p50_ms", "p99_ms", "max_ms", "late_sends", *(("events",) if rate is not None else ()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
