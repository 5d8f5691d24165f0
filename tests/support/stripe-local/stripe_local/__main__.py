"""The local Stripe server from the command line.

    python -m stripe_local [--port 12111] [--state-dir data/stripe] [--autopay]
        serve until stopped (Ctrl-C / SIGTERM save and exit)
    python -m stripe_local run [--state-dir data/stripe] [--autopay] -- <command> [args...]
        serve on a free port only while <command> runs, with STRIPE_API_KEY and STRIPE_API_BASE
        pointing it at this server; exit with the command's status

`run` is how the demo asks for the test server: the server lives in this process, so nothing
outlives it. Ctrl-C / SIGTERM go to the command as well; if this process dies (even by SIGKILL)
the command is sent SIGTERM by the kernel (Linux), and the server dies with this process.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Sequence

import uvicorn

from stripe_local.app import create_app
from stripe_local.autopay import DEFAULT_DECLINE_ONE_IN
from stripe_local.server import listening_socket, serve_app, url_of
from stripe_local.store import StateInUse

API_KEY = "sk_test_local"
_PR_SET_PDEATHSIG = 1


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", default=None,
                        help="keep state here across restarts and kills (default: in memory only)")
    parser.add_argument("--autopay", action="store_true",
                        help="demo customers pay each invoice when it is finalized (see --decline-one-in)")
    parser.add_argument("--decline-one-in", type=int, default=DEFAULT_DECLINE_ONE_IN, metavar="N",
                        help=f"with --autopay, one card in N is declined (default {DEFAULT_DECLINE_ONE_IN})")


def _autopay(args: argparse.Namespace) -> int | None:
    return args.decline_one_in if args.autopay else None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:
        return _run(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m stripe_local",
                                     description="Local, stateful, Stripe-compatible test server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--log-level", default="info")
    _server_options(parser)
    args = parser.parse_args(argv)
    print(f"local Stripe API on http://{args.host}:{args.port} (test controls under /_test)", flush=True)
    app = create_app(args.state_dir, autopay_decline_one_in=_autopay(args))
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m stripe_local run",
                                     description="Run a command against a local Stripe server that lives as long as it.")
    _server_options(parser)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the command and its arguments")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    try:
        app = create_app(args.state_dir, autopay_decline_one_in=_autopay(args))
    except StateInUse as refused:
        print(f"stripe_local: {refused}", file=sys.stderr)
        return 2
    sock = listening_socket()
    env = {**os.environ, "STRIPE_API_KEY": API_KEY, "STRIPE_API_BASE": url_of(sock)}
    # Started before the server's thread exists, so the fork is safe; its first requests wait in
    # the socket's backlog until the server accepts them.
    child = subprocess.Popen(command, env=env, preexec_fn=_die_with_parent)
    # Ctrl-C reaches the command directly (same process group); SIGTERM is passed on to it.
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
                signal.SIGTERM: signal.signal(signal.SIGTERM, lambda signum, _frame: child.send_signal(signum))}
    try:
        with serve_app(app, sock) as url:
            print(f"local Stripe test server on {url} (state in {args.state_dir or 'memory'}) for: "
                  f"{' '.join(command)}", file=sys.stderr, flush=True)
            return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """In the child before exec: the kernel sends it SIGTERM if this process dies, however it dies."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


if __name__ == "__main__":
    sys.exit(main())
