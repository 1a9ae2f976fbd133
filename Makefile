# Every target bootstraps itself: a fresh machine with only Python 3.11 is enough.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The backend-neutral suites, run a second time under JAX.
JAX_TESTS := $(wildcard tests/blocks tests/models tests/layers tests/templates tests/callbacks tests/test_nodes.py tests/test_events.py)
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: all demo test test-fast bench docs lint format clean graphviz

all: test

# Re-created whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.10+"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[tf-cpu,jax,dev,demo]"
	@touch $(STAMP)

# Graphviz draws model plots; without it kfx skips plots with a message.
graphviz:
	@if command -v dot >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing graphviz (apt-get)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null) \
		|| echo "warning: graphviz could not be installed; model plots will be skipped"; \
	else echo "note: graphviz 'dot' is missing and we are not root; model plots will be skipped"; fi

demo: $(STAMP) graphviz
	$(VENV)/bin/kfx demo

test: $(STAMP) graphviz
	$(PY) -m pytest -n 2 --dist worksteal -q
	KERAS_BACKEND=jax $(PY) -m pytest -n 2 --dist worksteal -q $(JAX_TESTS)

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -q -m "not slow"

bench: $(STAMP)
	for b in import_time blocks layers monitoring search distributed; do \
		$(PY) benchmarks/$$b.py || exit 1; done

docs: $(STAMP) graphviz
	$(PY) docs/make_figures.py
	$(VENV)/bin/mkdocs build --strict

lint: $(STAMP)
	$(VENV)/bin/ruff check kfx tests benchmarks examples docs
	$(VENV)/bin/ruff format --check kfx tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format kfx tests benchmarks
	$(VENV)/bin/ruff check --fix kfx tests benchmarks

clean:
	rm -rf $(VENV) site runs .pytest_cache
