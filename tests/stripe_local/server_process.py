"""The local Stripe server as its own process (`python -m stripe_local`), so a test can kill -9 it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accepting(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


@dataclass
class ServerProcess:
    state_dir: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *options: str) -> str:
        self.port = free_port()
        command = [sys.executable, "-m", "stripe_local", "--port", str(self.port), "--state-dir", str(self.state_dir),
                   "--log-level", "warning", *options]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not accepting(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local Stripe server did not start:\n{self.log()}")
            time.sleep(0.02)
        return self.url

    @property
    def log_path(self) -> Path:
        return self.state_dir.parent / f"{self.state_dir.name}.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, nothing is flushed or compacted."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> str:
        """Ctrl-C: a clean shutdown; returns what the server printed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=10)
        return self.log()


@contextmanager
def server_process(state_dir: Path) -> Iterator[ServerProcess]:
    """A server handle; whatever was started is killed at the end, however the test ends."""
    server = ServerProcess(state_dir)
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.kill()
