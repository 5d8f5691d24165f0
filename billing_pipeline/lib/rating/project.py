"""The dbt project and its manifest.

The manifest is prepared by an explicit parse step, never at import: the CLI, the Makefile and the
test suite call `prepare_manifest()` before loading the Definitions (dbt takes seconds to import).
"""

import fcntl
import hashlib
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

_NOT_SOURCES = {"target", "logs", "dbt_packages"}


def _source_files(project_dir: Path) -> list[Path]:
    return sorted(path for path in project_dir.rglob("*")
                  if path.is_file() and not _NOT_SOURCES.intersection(path.relative_to(project_dir).parts))


def _newest_source_mtime(project_dir: Path) -> float:
    return max((path.stat().st_mtime for path in _source_files(project_dir)), default=0.0)


def project_digest(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """SHA-256 of the project's source files (paths and bytes): what a build's models and tests are."""
    digest = hashlib.sha256()
    for path in _source_files(project_dir):
        digest.update(f"{path.relative_to(project_dir)}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def manifest_is_fresh(project: DbtProject = dbt_project) -> bool:
    manifest = project.manifest_path
    return manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime(Path(project.project_dir))


def prepare_manifest(project: DbtProject = dbt_project) -> Path:
    """Run `dbt parse` once, unless target/manifest.json is newer than every file of the project.

    Safe to call from parallel processes (test workers, CLI and UI): one parses, the others wait
    for it and find the manifest fresh.
    """
    project.manifest_path.parent.mkdir(parents=True, exist_ok=True)
    with (project.manifest_path.parent / ".prepare.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest_is_fresh(project):
            project.preparer.prepare(project)
    return project.manifest_path


def dbt_cli_resource() -> DbtCliResource:
    """The `dbt` resource the rating assets use."""
    # dbt installed beside this interpreter, so `.venv/bin/dagster dev` works without an activated venv
    beside = Path(sys.executable).with_name("dbt")
    return DbtCliResource(project_dir=dbt_project, dbt_executable=str(beside) if beside.exists() else "dbt")
