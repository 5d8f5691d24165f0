import os
import shutil

from dagster_dbt import DbtProject

from billing_pipeline.lib.rating.project import DBT_PROJECT_DIR, dbt_project, manifest_is_fresh, prepare_manifest


def test_the_prepared_manifest_describes_the_rating_models(tmp_path):
    manifest = prepare_manifest()
    assert manifest == dbt_project.manifest_path and manifest.exists()
    assert manifest_is_fresh()
    assert '"model.billing.fct_invoices"' in manifest.read_text()


def test_the_manifest_goes_stale_when_any_project_file_is_newer(tmp_path):
    copy = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs"))
    project = DbtProject(project_dir=copy, profiles_dir=copy)
    assert not manifest_is_fresh(project)

    project.manifest_path.parent.mkdir()
    project.manifest_path.write_text("{}")
    assert manifest_is_fresh(project)

    model = copy / "models" / "marts" / "fct_invoices.sql"
    later = project.manifest_path.stat().st_mtime + 5
    os.utime(model, (later, later))
    assert not manifest_is_fresh(project)
    # files dbt writes itself never make it stale
    (copy / "logs").mkdir()
    (copy / "logs" / "dbt.log").write_text("")
    os.utime(model, (later - 10, later - 10))
    assert manifest_is_fresh(project)
