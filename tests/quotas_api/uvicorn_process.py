"""A real uvicorn process on a loopback port, for the tests and the benchmark.

The port is one the kernel just handed out. Passing uvicorn the bound socket instead (`--fd`)
would close the small window before uvicorn binds it, but uvicorn treats such a socket as a Unix
one and leaves Nagle's algorithm on: every answer then waits ~40 ms for a delayed ACK.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class Server:
    base_url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def uvicorn_server(
    app: str,
    env: Mapping[str, str],
    log_path: Path,
    extra_args: tuple[str, ...] = (),
    launcher: Sequence[str] = (),
    startup_timeout: float = 30.0,
) -> Iterator[Server]:
    """`launcher` prefixes the command, e.g. ("taskset", "-c", "0") to pin the server to a CPU."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [*launcher, sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*command, *extra_args], env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
    server = Server(base_url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        _wait_until_answering(server, startup_timeout)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_answering(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {server.process.returncode}:\n{server.log()}")
        try:
            httpx.get(server.base_url + "/healthz", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"uvicorn did not answer within {timeout} s:\n{server.log()}")
