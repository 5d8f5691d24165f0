"""The dbt rating models as Dagster assets: one monthly-partitioned `dbt build` per run.

A run covers one month or, for a backfill, a range of months (single-run backfill policy); the
window and the run's as_of date reach dbt in its environment (window.py). dbt tests become asset checks,
blocking when their severity is error: a failure stops the period's close (the fct_issued_*
ledger is skipped inside dbt) and everything downstream in Dagster.

A run rebuilds what changed since the last build that succeeded (lib/rating/scope.py): nothing, and
dbt does not run; the models pricing new usage; or the whole project.
"""

import json
from datetime import date
from pathlib import Path
from typing import Any, Iterator, Mapping

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from pydantic import Field

from billing_pipeline.defs.partitions import monthly_partitions
from billing_pipeline.lib.ingest.seam import publish_seam
from billing_pipeline.lib.warehouse import BillingData
from billing_pipeline.lib.rating.engine import EngineMismatch, RatingEngine, check_engine
from billing_pipeline.lib.rating.environment import scoped_environment
from billing_pipeline.lib.rating.project import dbt_project
from billing_pipeline.lib.rating.scope import RatingScope, forget_build, rating_scope, record_build
from billing_pipeline.lib.rating.spark_tables import expose_spark_tables
from billing_pipeline.lib.rating.summary import dbt_check_description, invoice_metadata, issued_metadata
from billing_pipeline.lib.rating.window import DEFAULT_GRACE_DAYS, today_utc, window_for_partitions

RATING_OP = "rating"

# Metadata read from the warehouse after dbt ends (DuckDB allows one writer: dbt, while it runs).
_SUMMARIES = {"fct_invoices": invoice_metadata, "fct_issued_periods": issued_metadata}


class RatingConfig(dg.Config):
    as_of: str = Field(default="", description="Business date (YYYY-MM-DD) deciding which months are closed; empty = today (UTC).")
    grace_days: int = Field(default=DEFAULT_GRACE_DAYS, description="Days after a month ends before it closes, for late events.")
    full_refresh: bool = Field(default=False, description="Rebuild the incremental usage models (int_usage__*_history) "
                                                          "from every loaded event instead of the days that changed.")

    def as_of_date(self) -> date:
        return date.fromisoformat(self.as_of) if self.as_of else today_utc()


class RatingTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "rating"


# Several catalog tables come from one catalog asset (e.g. plans.yaml -> plans, charges, tiers).
# No source metadata on deps: Dagster would link a dep to the asset whose table it names, and the
# ledger source names the fct_issued_* tables, which would make the ledger depend on itself.
translator = RatingTranslator(settings=DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True,
                                                                enable_source_metadata=False))


def rating_run_config(as_of: date, grace_days: int = DEFAULT_GRACE_DAYS, full_refresh: bool = False) -> dict:
    """Run config for a job holding the rating assets (schedules, CLI, tests)."""
    config: dict = {"as_of": as_of.isoformat(), "grace_days": grace_days}
    if full_refresh:
        config["full_refresh"] = True
    return {"ops": {RATING_OP: {"config": config}}}


def dbt_build_args(billing_data: BillingData, full_refresh: bool = False, target: str = "warehouse") -> list[str]:
    """The arguments of the rating `dbt build`; the window goes in its environment
    (RatingWindow.dbt_env).

    Only the warehouse path is a var: it is the same for every run on a warehouse, so dbt's partial
    parse stays valid. Unit tests check the SQL, not the data: they run in CI (tests/dbt), not in
    every build. Dagster reads node results from dbt's event stream, so the run skips dbt's JSON
    artifacts (writing manifest.json alone costs about a second) and logs nodes, not every
    statement, to its file; compiled SQL still lands in the target folder.
    """
    return ["build", "--target", target, "--vars", json.dumps({"warehouse_path": str(billing_data.paths.warehouse)}),
            "--exclude-resource-type", "unit_test", "--no-write-json", "--log-level-file", "info",
            *(["--full-refresh"] if full_refresh else [])]


def dbt_target_path(billing_data: BillingData, engine: str = "duckdb") -> Path:
    """dbt's target folder for a warehouse and engine, kept from run to run: its partial_parse.msgpack
    lets the next run skip parsing the project (dagster-dbt seeds a new folder with the prepared one)."""
    return billing_data.paths.warehouse.parent / ("dbt_target" if engine == "duckdb" else f"dbt_target_{engine}")


def _summary_name(context: dg.AssetExecutionContext, output: dg.Output) -> str:
    return context.asset_key_for_output(output.output_name).path[-1]


# No `project=`: dagster-dbt would put the DbtProject object itself on every asset as metadata, which
# the UI can only show as "(unserializable)"; it is needed for code references, which are off.
@dbt_assets(
    manifest=dbt_project.manifest_path,
    name=RATING_OP,
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=translator,
    pool="duckdb_warehouse",
)
def rating(context: dg.AssetExecutionContext, config: RatingConfig, dbt: DbtCliResource,
           billing_data: BillingData, rating_engine: RatingEngine) -> Iterator[Any]:
    time_window = context.partition_time_window
    window = window_for_partitions(time_window.start, time_window.end, config.as_of_date(), config.grace_days)
    closing = ", ".join(m.strftime("%Y-%m") for m in window.closed_months) or "none"
    context.log.info(f"rating {window.first_month:%Y-%m}..{window.end:%Y-%m} (end excluded) as of {window.as_of}; "
                     f"closed months (issued unless already): {closing}")
    engine = rating_engine.name
    with billing_data.warehouse() as con:
        try:
            check_engine(con, engine)
        except EngineMismatch as mismatch:
            raise dg.Failure(description=str(mismatch)) from None
        scope = rating_scope(con, window, config.full_refresh)
    # a subset (picked in the UI): dagster-dbt selects it, and its build is not recorded as the whole
    subset = (context.selected_asset_keys != context.assets_def.keys
              or context.selected_asset_check_keys != context.assets_def.check_keys)
    if subset:
        scope = RatingScope("all", "a subset of the rating assets was selected", scope.inputs)
    context.log.info(f"rebuilding {dict(nothing='nothing', usage='the models pricing usage', all='everything')[scope.kind]}: "
                     f"{scope.reason}")
    if scope.kind == "nothing":
        return

    with billing_data.warehouse() as con:
        forget_build(con)
        if engine != "duckdb":
            seam = publish_seam(con, billing_data.paths.seam)
            context.log.info(f"rating on {engine}; seam: {seam.folders_written} folders written, "
                             f"{seam.folders_removed} removed, {seam.folders_unchanged} unchanged")
    with scoped_environment({**window.dbt_env(), **scope.dbt_env(), **rating_engine.dbt_env(billing_data.paths)}):
        invocation = dbt.cli([*dbt_build_args(billing_data, config.full_refresh, rating_engine.dbt_target), *scope.dbt_args()],
                             context=context, raise_on_error=False, target_path=dbt_target_path(billing_data, engine))
    # Events stream live until the first output whose metadata needs the finished warehouse; from
    # there on they wait for dbt to end, as outputs must be yielded in dependency order.
    held_back: list[Any] = []
    for event in invocation.stream():
        if isinstance(event, dg.AssetCheckResult):  # dagster-dbt gives none: say why it passed or failed
            event = event._replace(description=dbt_check_description(event, invocation.manifest))
        if held_back or (isinstance(event, dg.Output) and _summary_name(context, event) in _SUMMARIES):
            held_back.append(event)
        else:
            yield event
    if engine == "spark":
        with billing_data.warehouse() as con:
            expose_spark_tables(con, billing_data.paths.spark)
    if held_back:
        with billing_data.warehouse(read_only=True) as con:
            for event in held_back:
                name = _summary_name(context, event) if isinstance(event, dg.Output) else None
                yield event.with_metadata({**event.metadata, **_SUMMARIES[name](con, window)}) if name in _SUMMARIES else event
    if invocation.is_successful():
        if not subset:
            with billing_data.warehouse() as con:
                record_build(con, scope)
    else:
        raise dg.Failure(
            description=f"dbt build failed for {window.first_month:%Y-%m}..{window.end:%Y-%m}: nothing was issued",
            metadata={"dbt_errors": dg.MetadataValue.text(str(invocation.get_error()))},
        )


def _ledger_source(table: str, what: str) -> dg.AssetSpec:
    """The issued ledger as earlier closes left it, which the next rating reads back (dbt source
    `ledger`): the same table as the model, under its own key, since a run reads it before it writes it."""
    return dg.AssetSpec(["ledger", table], group_name="rating", kinds={"duckdb"},
                        description=f"{what} as earlier closes left them in `{table}`, read back by the next rating run "
                                    f"(dbt source `ledger`); absent before the first close.")


ledger_issued_periods = _ledger_source("fct_issued_periods", "The issued periods")
ledger_issued_invoices = _ledger_source("fct_issued_invoices", "The issued invoice headers")
ledger_issued_invoice_lines = _ledger_source("fct_issued_invoice_lines", "The issued invoice lines")
