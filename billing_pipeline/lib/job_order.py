"""The order in which jobs run, read from the asset graph: the one place that decides it.

A job runs after another when one of its assets depends, directly or not, on one of the other's.
`billing-pipeline run` launches jobs in this order and skips what lies downstream of a failure;
it holds no order of its own.
"""

from collections.abc import Iterable

import dagster as dg


def _assets(defs: dg.Definitions, job: str) -> set[dg.AssetKey]:
    return set(defs.resolve_job_def(job).asset_layer.executable_asset_keys)


def downstream_jobs(defs: dg.Definitions, jobs: Iterable[str]) -> dict[str, set[str]]:
    """For each job, the other jobs holding an asset that depends on one of its assets."""
    graph = defs.resolve_asset_graph()
    assets = {job: _assets(defs, job) for job in jobs}
    ancestors = {job: set().union(*(graph.get_ancestor_asset_keys(key) for key in keys)) - keys
                 for job, keys in assets.items()}
    return {job: {other for other in assets if other != job and ancestors[other] & keys}
            for job, keys in assets.items()}


def job_order(defs: dg.Definitions, jobs: Iterable[str]) -> list[str]:
    """The jobs, upstream first; jobs the graph leaves unordered keep their given order."""
    jobs = list(jobs)
    after = downstream_jobs(defs, jobs)
    ordered: list[str] = []
    waiting = list(jobs)
    while waiting:
        ready = next((job for job in waiting
                      if not any(job in after[other] for other in waiting if other != job)), None)
        if ready is None:
            raise ValueError(f"the asset graph orders these jobs in a cycle: {', '.join(waiting)}")
        ordered.append(ready)
        waiting.remove(ready)
    return ordered
