"""Environment variables for one dbt invocation started from this process.

dagster-dbt starts dbt with a copy of this process's environment and takes none of its own, so the
rating window is set here just while the dbt process starts (and, for in-process dbt in tests,
while it runs), then restored. A lock keeps two invocations from mixing their values.
"""

import os
import threading
from contextlib import contextmanager
from typing import Iterator, Mapping

_lock = threading.Lock()


@contextmanager
def scoped_environment(values: Mapping[str, str]) -> Iterator[None]:
    with _lock:
        saved = {name: os.environ.get(name) for name in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
