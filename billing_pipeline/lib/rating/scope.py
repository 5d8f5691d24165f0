"""What a rating run's `dbt build` must rebuild: nothing, the models that price usage, or everything.

A rating build reads the usage history (fed by ingestion's loads, raw.usage_changes), the catalog,
the issued ledger, the ingestion holds, the window (as_of included) and the dbt project. After a
build that succeeded, every blocking check passing, the rating asset records those inputs, as they
were when the build started, in `main.rating_inputs` (so the run after a close, which reads the
ledger it wrote, rebuilds everything once); every dbt build drops that record when it starts (an on-run-start hook in
dbt_project.yml), so a build by hand, a crash or a failed build leaves none. The next run compares:
- everything equal: there is nothing to rebuild, and dbt does not run;
- only new loads, none of them on a day of an issued month: the selector `usage_change`
  (dbt_project/selectors.yml), the usage history and the models that price it, with their tests.
  Nothing else can change: every other model reads only inputs equal to the recorded build's (late
  events for an issued month would change the re-rated pairs, so they rebuild everything);
- anything else, a first build, a full refresh or no record: the whole project.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb

from billing_pipeline.lib.rating.project import project_digest
from billing_pipeline.lib.rating.window import RatingWindow
from billing_pipeline.lib.warehouse import relation_exists

RECORD = "rating_inputs"
USAGE_SELECTOR = "usage_change"
LEDGER_AND_HOLDS = [("raw", "period_holds"), ("main", "fct_issued_periods"), ("main", "fct_issued_invoices")]


@dataclass(frozen=True)
class RatingInputs:
    """The inputs of a rating build: the last load it takes in, and a digest of everything else."""

    through_load_id: int
    others: str


@dataclass(frozen=True)
class RatingScope:
    kind: str  # "nothing" | "usage" | "all"
    reason: str
    inputs: RatingInputs  # as the build starts: what record_build records once it succeeded
    changed_after: int | None = None  # for "usage": the last load the recorded build took in

    def dbt_args(self) -> list[str]:
        """The selection to add to the rating's `dbt build` arguments (none: the whole project)."""
        return ["--selector", USAGE_SELECTOR] if self.kind == "usage" else []

    def dbt_env(self) -> dict[str, str]:
        """For "usage": the loads the reconciliation check compares with the raw events (the rest
        was reconciled by earlier builds; see assert_usage_reconciles_with_raw_events.sql)."""
        return {"BILLING_RATING_CHANGED_AFTER_LOAD": str(self.changed_after)} if self.kind == "usage" else {}


def _table_digest(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """Row count and the sum of row hashes (order-independent); a missing table reads as an empty one
    (the first build creates the ledger's tables empty)."""
    rows, hashes = 0, None
    if relation_exists(con, schema, table):
        [(rows, hashes)] = con.execute(f'select count(*), sum(hash(t)::hugeint) from "{schema}"."{table}" as t').fetchall()
    return f"{schema}.{table}:{rows}:{hashes}"


def rating_inputs(con: duckdb.DuckDBPyConnection, window: RatingWindow) -> RatingInputs:
    """The inputs of a rating build over `window` as the warehouse holds them now."""
    through = 0
    if relation_exists(con, "raw", "usage_changes"):
        [(through,)] = con.execute("select coalesce(max(load_id), 0) from raw.usage_changes").fetchall()
    catalog = con.execute(
        "select table_schema, table_name from information_schema.tables where table_schema = 'catalog' order by all"
    ).fetchall()
    parts = [json.dumps(window.dbt_vars(), sort_keys=True), project_digest()]
    parts += [_table_digest(con, schema, name) for schema, name in [*catalog, *LEDGER_AND_HOLDS]]
    return RatingInputs(through, hashlib.sha256("\n".join(parts).encode()).hexdigest())


def _recorded(con: duckdb.DuckDBPyConnection) -> tuple[RatingInputs, datetime] | None:
    if not relation_exists(con, "main", RECORD):
        return None
    rows = con.execute(f"select through_load_id, others, built_at from main.{RECORD}").fetchall()
    return (RatingInputs(rows[0][0], rows[0][1]), rows[0][2]) if len(rows) == 1 else None


def _loads_touching_issued_months(con: duckdb.DuckDBPyConnection, since: int) -> int:
    if not relation_exists(con, "main", "fct_issued_periods"):
        return 0
    [(count,)] = con.execute("""
        select count(*) from raw.usage_changes
        where load_id > ? and strftime(usage_date, '%Y-%m') <= (select max(period) from main.fct_issued_periods)
    """, [since]).fetchall()
    return count


def rating_scope(con: duckdb.DuckDBPyConnection, window: RatingWindow, full_refresh: bool = False) -> RatingScope:
    """What a rating build over `window` must rebuild, from the record of the last one that succeeded."""
    now, recorded = rating_inputs(con, window), _recorded(con)
    if full_refresh:
        return RatingScope("all", "full refresh", now)
    if recorded is None:
        return RatingScope("all", "no record of a successful rating build since the last dbt build", now)
    last, built_at = recorded
    if now.others != last.others:
        return RatingScope("all", "the window, catalog, issued ledger, holds or dbt project changed", now)
    if now.through_load_id == last.through_load_id:
        return RatingScope("nothing", f"nothing new since {built_at:%Y-%m-%d %H:%M:%S} UTC", now)
    if _loads_touching_issued_months(con, last.through_load_id):
        return RatingScope("all", "new usage of an issued month (late events)", now)
    return RatingScope("usage", f"new usage (loads {last.through_load_id + 1}..{now.through_load_id})", now,
                       last.through_load_id)


def record_build(con: duckdb.DuckDBPyConnection, scope: RatingScope) -> None:
    """After a rating build that succeeded: the inputs it started from."""
    inputs = scope.inputs
    con.execute(f"create or replace table main.{RECORD} (through_load_id bigint, others varchar, built_at timestamp)")
    con.execute(f"insert into main.{RECORD} values (?, ?, ?)",
                [inputs.through_load_id, inputs.others, datetime.now(timezone.utc).replace(tzinfo=None)])


def forget_build(con: duckdb.DuckDBPyConnection) -> None:
    """Before a rating build: no record until it succeeds. dbt's on-run-start hook drops it too, for
    builds by hand, but in the target's schema, which on Spark is not this warehouse."""
    con.execute(f"drop table if exists main.{RECORD}")
