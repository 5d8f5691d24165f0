# Two commands on a fresh machine with only python3: `make demo` and `make test`.
SHELL := /bin/bash
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export BILLING_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# dagster-dbt runs the `dbt` executable: the venv's bin must come first on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: install demo test dev api bench clean-data

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Bytecode compiled once at install: with PYTHONDONTWRITEBYTECODE set (as on these machines) every
# dbt start would otherwise recompile its sources, about 1.3 s of each rating run.
$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --extra spark --python python3 --compile-bytecode
	touch $@

install: $(VENV)/.installed

# The demo asks for the local Stripe test server (a dev-only package): it lives exactly as long as the
# run, keeps its state in data/stripe, and its demo customers pay as invoices are finalized.
demo: install  ## the whole pipeline on the bundled sample (generated first when data/ has no catalog)
	@test -f $(BILLING_DATA_DIR)/catalog/plans.yaml || $(BIN)/billing-pipeline generate
	$(BIN)/python -m stripe_local run --state-dir $(BILLING_DATA_DIR)/stripe --autopay -- $(BIN)/billing-pipeline run

test: install  ## the test suite
	$(BIN)/python -m pytest -q -n 2

dev: install  ## the Dagster UI on http://127.0.0.1:3000
	$(BIN)/python -c "from billing_pipeline.lib.rating.project import prepare_manifest; prepare_manifest()"
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

api: install  ## the quota API on http://127.0.0.1:8000, serving data/serving/quota_snapshot.parquet
	@test -f $(BILLING_DATA_DIR)/catalog/api_keys.yaml || { echo "New local service key (shown once):"; $(BIN)/python -m quotas_api.api_keys new --name local-dev --service --keys-file $(BILLING_DATA_DIR)/catalog/api_keys.yaml; }
	$(BIN)/uvicorn quotas_api.app:app --host 127.0.0.1 --port 8000

bench: install  ## benchmarks (slow; not part of the tests)
	@for bench in tests/benchmarks/bench_*.py; do echo "== $$bench"; $(BIN)/python $$bench || exit 1; done

clean-data:  ## forget generated data and the warehouse (the catalog is regenerated too)
	find data -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
