"""Every dbt model documents every column it builds, with the type DuckDB gives it and a description:
that is what the Dagster UI shows as the asset's column schema."""

import json
from datetime import date

from billing_pipeline.lib.rating.project import dbt_project
from tests.dbt.rating_warehouse import january_world


def test_every_model_declares_each_of_its_columns_with_its_built_type_and_a_description(tmp_path):
    world = january_world(tmp_path / "data")
    run = world.rate(date(2026, 1, 1), date(2026, 2, 10), date(2026, 2, 1))  # January issued: the ledger exists
    assert run.success, run.with_status("fail", "error")
    built: dict[str, list[tuple[str, str]]] = {}
    for row in world.query("SELECT table_name, column_name, data_type FROM information_schema.columns "
                           "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"):
        built.setdefault(row["table_name"], []).append((row["column_name"], row["data_type"].lower()))

    models = [node for node in json.loads(dbt_project.manifest_path.read_text())["nodes"].values()
              if node["resource_type"] == "model"]
    assert len(models) > 40
    for model in models:
        declared = [(c["name"], (c.get("data_type") or "").lower()) for c in model["columns"].values()]
        assert declared == built[model["name"]], model["name"]  # same columns, same order, same types
        undescribed = [c["name"] for c in model["columns"].values() if not c.get("description", "").strip()]
        assert not undescribed, (model["name"], undescribed)
