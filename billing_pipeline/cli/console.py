"""What a command prints, and the run log that keeps what it does not.

The console gets one line per thing an operator must know: progress of long steps, summaries and
problems (on stderr). Stack traces and Dagster's own records go to the run log
(`<data>/logs/run-<UTC time>.log`), whose path the first line names.
"""

import logging
import signal
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from billing_pipeline.exchange.data_dir import DataDir


@dataclass
class Console:
    # Bound when the command starts, before anything redirects sys.stdout into the run log.
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    stopped: str | None = None  # the signal that asked the command to stop

    def line(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def problem(self, text: str) -> None:
        print(text, file=self.err, flush=True)

    @contextmanager
    def progress(self, title: str, total: int) -> Iterator["Progress"]:
        progress = Progress(self, title, total)
        yield progress
        progress.finish()

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """Ctrl-C and SIGTERM stop the command: the run in flight is interrupted (Dagster rolls its
        step back and stops dbt), `stopped` names the signal, and the caller stops at the next
        check instead of going on with the next job."""
        def stop(signum, frame):
            self.stopped = signal.Signals(signum).name
            raise KeyboardInterrupt(self.stopped)

        previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def raise_if_stopped(self) -> None:
        if self.stopped:
            raise KeyboardInterrupt(self.stopped)


@dataclass
class Progress:
    """A step's progress. A single run reads `title label ... done in 12.3 s`; several count up
    (`title: 12/82 label`), in place on a terminal and in about ten lines on a log."""

    console: Console
    title: str
    total: int
    done: int = 0
    started: float = field(default_factory=time.monotonic)

    def start(self, label: str) -> None:
        if self.total == 1:
            self.started = time.monotonic()
            text = f"{self.title} {label}".rstrip() + " ..."
            if self.console.out.isatty():
                print(text, end="", file=self.console.out, flush=True)
            else:
                self.console.line(text)

    def advance(self, label: str) -> None:
        self.done += 1
        if self.total == 1:
            text = f" done in {time.monotonic() - self.started:.1f} s"
            if self.console.out.isatty():
                print(text, file=self.console.out, flush=True)
            else:
                self.console.line(f"{self.title} {label}".rstrip() + text)
            return
        text = f"{self.title}: {self.done}/{self.total} {label}".rstrip()
        if self.console.out.isatty():
            print(f"\r{text}\033[K", end="", file=self.console.out, flush=True)
        elif self.done == self.total or self.done % max(1, self.total // 10) == 0:
            self.console.line(text)

    def finish(self) -> None:
        if self.console.out.isatty() and self.total > 1 and self.done:
            print(file=self.console.out, flush=True)


@dataclass
class RunLog:
    """The run's log file: Dagster's and dbt's output, library warnings and full error traces."""

    path: Path
    stream: TextIO

    @classmethod
    @contextmanager
    def open(cls, paths: DataDir) -> Iterator["RunLog"]:
        paths.logs.mkdir(parents=True, exist_ok=True)
        path = paths.logs / f"run-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.log"
        with open(path, "a", encoding="utf-8", buffering=1) as stream:
            handler = logging.StreamHandler(stream)
            handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
            # Library warnings (Dagster's beta notices and the like) belong in the log, not on the console.
            logging.captureWarnings(True)
            warnings_logger = logging.getLogger("py.warnings")
            warnings_logger.addHandler(handler)
            warnings_logger.propagate = False
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("default")
                    yield cls(path, stream)
            finally:
                warnings_logger.removeHandler(handler)
                logging.captureWarnings(False)

    def write(self, text: str) -> None:
        self.stream.write(f"{datetime.now(timezone.utc).isoformat(timespec='seconds')} {text}\n")

    @contextmanager
    def capturing(self) -> Iterator[None]:
        """What libraries print while a job runs (dagster-dbt echoes every dbt log line to stdout)."""
        with redirect_stdout(self.stream):
            yield
