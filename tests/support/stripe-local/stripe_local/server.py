"""Run the local Stripe server with uvicorn, in a background thread or as a process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from stripe_local.app import create_app

STARTUP_TIMEOUT_SECONDS = 10.0


def listening_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A socket already accepting connections into its backlog; port 0 picks a free port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


@contextmanager
def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    state_dir: Path | str | None = None,
    **app_options: Any,
) -> Iterator[str]:
    """Serve in a background thread; yield the base URL once it accepts connections.

    Port 0 picks a free port. `app_options` go to `create_app` (e.g. `webhook_retry_delays`,
    `autopay_decline_one_in`).
    """
    with serve_app(create_app(state_dir, **app_options), listening_socket(host, port)) as url:
        yield url


@contextmanager
def serve_app(app: ASGIApp, sock: socket.socket) -> Iterator[str]:
    """Serve `app` on `sock` in a background thread until the block ends."""
    bound_host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="stripe-local", daemon=True)
    thread.start()
    try:
        _wait_until_accepting(server, thread, bound_host, bound_port)
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
        sock.close()


def _wait_until_accepting(server: uvicorn.Server, thread: threading.Thread, host: str, port: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the local Stripe server stopped during startup")
        if server.started:
            with socket.create_connection((host, port), timeout=1.0):
                return
        time.sleep(0.01)
    raise TimeoutError(f"the local Stripe server did not start within {STARTUP_TIMEOUT_SECONDS} s")
