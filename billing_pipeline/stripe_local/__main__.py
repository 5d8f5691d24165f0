"""`python -m billing_pipeline.stripe_local --port 12111 --state-dir data/stripe`"""

from __future__ import annotations

import argparse

import uvicorn

from billing_pipeline.stripe_local.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local, stateful, Stripe-compatible test server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--state-dir", default=None, help="keep state in a JSON file here across restarts")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    print(f"local Stripe API on http://{args.host}:{args.port} (test controls under /_test)", flush=True)
    uvicorn.run(create_app(args.state_dir), host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
