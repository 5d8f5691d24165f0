"""What the Dagster UI shows explains itself and reads as the text it is: every check result says why
it passed or failed, Markdown never eats `<...>`, no metadata shows as "(unserializable)", and the
workspace loads under one code location name."""

import ast
import os
import re
import subprocess
import warnings
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import polars as pl
from dagster._core.definitions.metadata import normalize_metadata
from markdown_it import MarkdownIt

from billing_pipeline.definitions import defs
from billing_pipeline.lib import markdown

ROOT = Path(__file__).resolve().parents[1]
# Keys dagster-dbt sets that the UI hides (its own list): everything else must be showable.
HIDDEN_BY_THE_UI = {"dagster_dbt/manifest", "dagster_dbt/dagster_dbt_translator"}


def _is_none(node: ast.expr) -> bool:
    if isinstance(node, ast.IfExp):
        return _is_none(node.body) or _is_none(node.orelse)
    return isinstance(node, ast.Constant) and node.value is None


def test_every_check_result_the_code_builds_says_why_it_passed_or_failed():
    built = 0
    for path in (ROOT / "billing_pipeline").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "AssetCheckResult":
                built += 1
                description = next((k.value for k in node.keywords if k.arg == "description"), None)
                assert description is not None and not _is_none(description), f"{path.name}:{node.lineno}"
    assert built >= 8  # ingest (5), publish, report, alerts; dbt tests get theirs in the rating asset


def _outside_code(text: str) -> str:
    return re.sub(r"`[^`]*`", "", text)


def test_descriptions_and_markdown_metadata_of_every_asset_and_check_show_angle_brackets_as_text(monkeypatch, tmp_path):
    monkeypatch.setenv("BILLING_DATA_DIR", str(tmp_path))
    loaded = defs()
    texts = []
    for spec in loaded.resolve_all_asset_specs():
        texts.append((spec.key, spec.description or ""))
        for key, value in spec.metadata.items():
            if isinstance(value, dg.MarkdownMetadataValue):
                texts.append((spec.key, value.value))
            if isinstance(value, dg.TableSchema):
                texts += [(spec.key, column.description or "") for column in value.columns]
    for check in loaded.resolve_asset_graph().asset_check_keys:
        texts.append((check, loaded.resolve_asset_graph().get_check_spec(check).description or ""))
    assert len(texts) > 600
    eaten = [(key, text) for key, text in texts if re.search(r"<[A-Za-z/!]", _outside_code(text))]
    assert eaten == []


class _Text(HTMLParser):
    """The text a browser shows for some HTML, and the tags it would read."""

    def __init__(self) -> None:
        super().__init__()
        self.text, self.tags = [], set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)

    def handle_data(self, data):
        self.text.append(data)


def _shown(markdown_text: str) -> _Text:
    parser = _Text()
    parser.feed(MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown_text))
    return parser


def test_markdown_tables_show_ids_with_angle_brackets_pipes_and_ampersands_as_written():
    frame = pl.DataFrame({"pattern": ["INV-<yyyymm>-<account_id>", "a | b"], "account": ["Fern & Co <Ltd>", "x"]})
    shown = _shown(markdown.table(frame))
    assert shown.tags == {"table", "thead", "tbody", "tr", "th", "td"}
    cells = [t.strip() for t in shown.text if t.strip()]
    assert cells == ["pattern", "account", "INV-<yyyymm>-<account_id>", "Fern & Co <Ltd>", "a | b", "x"]
    mapping = _shown(markdown.mapping({"<sink>": 3}, "sink", "sent"))
    assert "<sink>" in "".join(mapping.text) and "sink" not in mapping.tags


def test_no_asset_carries_metadata_the_ui_can_only_show_as_unserializable(monkeypatch, tmp_path):
    monkeypatch.setenv("BILLING_DATA_DIR", str(tmp_path))
    unshowable = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # normalizing an arbitrary object warns that it will be refused one day
        for spec in defs().resolve_all_asset_specs():
            for key, value in normalize_metadata(spec.metadata, allow_invalid=True).items():
                if "(unserializable)" in str(getattr(value, "value", "")) and key not in HIDDEN_BY_THE_UI:
                    unshowable.add(key)
    assert unshowable == set()  # dagster_dbt/project was one: a DbtProject object on every dbt asset


def test_the_workspace_loads_without_warning_that_its_code_location_name_differs(tmp_path):
    env = {**os.environ, "BILLING_DATA_DIR": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    loaded = subprocess.run([str(Path(os.sys.executable).with_name("dagster")), "definitions", "validate",
                             "-w", "workspace.yaml"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = loaded.stdout + loaded.stderr
    assert loaded.returncode == 0, output[-2000:]
    assert "Validation successful for code location billing_pipeline" in output
    assert "does not match the name" not in output


def test_the_raw_tables_and_views_the_readme_and_the_asset_descriptions_name_are_the_ones_ingestion_creates(monkeypatch, tmp_path):
    import duckdb

    from billing_pipeline.lib.ingest.usage_events import ensure_schema

    monkeypatch.setenv("BILLING_DATA_DIR", str(tmp_path))
    descriptions = " ".join(spec.description or "" for spec in defs().resolve_all_asset_specs())
    readme = (ROOT / "docs" / "contracts.md").read_text()  # where the landed-usage contract is documented
    con = duckdb.connect()
    ensure_schema(con)
    created = {name for (name,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'").fetchall()}
    for text in (readme, descriptions):
        named = set(re.findall(r"`raw\.(\w+)`", text))
        assert named and named <= created, named - created
    # where a reader looks for what was set aside: the same view in both
    assert "`raw.quarantine`" in readme and "`raw.quarantine`" in descriptions
