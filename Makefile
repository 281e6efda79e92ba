# The project's commands. `make test` and `make demo` are all a new machine needs;
# both build what is missing first (the virtualenv, the local control plane).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

.PHONY: help venv cluster cluster-down lint typecheck unit test demo bench docs clean

help:
	@echo "make demo          see the operator work end to end on a local control plane"
	@echo "make test          every check and test, unit and on the local control plane"
	@echo "make cluster       start the local control plane (kubeconfig in .cluster/kubeconfig)"
	@echo "make cluster-down  stop it and remove its state"
	@echo "make lint          ruff, mypy, import layers, Dockerfile, workflows"
	@echo "make unit          the fast tests that need no cluster"
	@echo "make bench         benchmarks; they print figures and assert nothing"
	@echo "make docs          regenerate the generated documents (docs/settings.md)"

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

unit: $(STAMP)
	$(BIN)/pytest tests/unit

test: lint
	$(BIN)/pytest

demo: $(STAMP)
	$(PY) -m demo

bench: $(STAMP)
	$(PY) -m benchmarks

docs: $(STAMP)
	$(PY) -m envpayload.devtools.settings_doc > docs/settings.md

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
