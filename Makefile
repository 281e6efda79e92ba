# The project's commands. `make test` and `make demo` are all a new machine needs;
# both build what is missing first (the virtualenv, the local control plane).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
# Go-built tools, from the cache localplane/build.sh fills (`localplane/build.sh helm actionlint`).
HELM = $(shell localplane/build.sh --bin helm)/helm
ACTIONLINT = $(shell localplane/build.sh --bin actionlint)/actionlint
WORKFLOWS := $(wildcard .github/workflows/*.yml) $(wildcard examples/*.yml)

.PHONY: help venv cluster cluster-down lint lint-delivery chart-docs typecheck unit test demo bench docs clean

help:
	@echo "make demo          see the operator work end to end on a local control plane"
	@echo "make test          every check and test, unit and on the local control plane"
	@echo "make cluster       start the local control plane (kubeconfig in .cluster/kubeconfig)"
	@echo "make cluster-down  stop it and remove its state"
	@echo "make lint          ruff, mypy, import layers, Dockerfile, workflows, chart"
	@echo "make chart-docs    regenerate the chart's values table and settings schema"
	@echo "make unit          the fast tests that need no cluster"
	@echo "make bench         benchmarks; they print figures and assert nothing"
	@echo "make docs          regenerate the generated documents (docs/settings.md, chart docs)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==25.3
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

cluster: $(STAMP)
	$(PY) -m localplane up

cluster-down: $(STAMP)
	$(PY) -m localplane down

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(MAKE) --no-print-directory lint-delivery

# The image, the workflows and the chart. helm and actionlint are built from Go modules;
# without them this fails and says how to build them.
lint-delivery: $(STAMP)
	$(BIN)/hadolint Dockerfile
	@for tool in $(HELM) $(ACTIONLINT); do \
	  test -x "$$tool" || { echo "missing $$tool: run localplane/build.sh helm actionlint" >&2; exit 1; }; \
	done
	$(ACTIONLINT) -shellcheck=$(BIN)/shellcheck $(WORKFLOWS)
	$(BIN)/zizmor --offline --persona=auditor .github $(wildcard examples/*.yml)
	$(HELM) lint --strict charts/envpayload-operator
	$(PY) -m tools.chart_docs --check

chart-docs: $(STAMP)
	$(PY) -m tools.chart_docs

unit: $(STAMP)
	$(BIN)/pytest tests/unit

test: lint
	$(BIN)/pytest

demo: $(STAMP)
	$(PY) -m demo

bench: $(STAMP)
	$(PY) -m benchmarks

docs: chart-docs
	$(PY) -m envpayload.devtools.settings_doc > docs/settings.md

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
