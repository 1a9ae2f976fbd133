# Every target bootstraps itself: a fresh machine with only Python 3.11 is enough.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The backend-neutral suites, run a second time under JAX.
JAX_TESTS := $(wildcard tests/blocks tests/models tests/layers tests/templates tests/callbacks tests/test_nodes.py tests/test_events.py)
export TF_CPP_MIN_LOG_LEVEL ?= 2

# The version matrix (tools/matrix.py): one venv per constraints/<row>.txt under .matrix/.
MATRIX := $(PY) tools/matrix.py

.PHONY: all demo test test-slow test-matrix test-oldest test-wheel bench docs lint format clean graphviz browser

all: test

# Re-created whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.10+"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[tf-cpu,jax,dev,demo]"
	$(PY) tools/install_tf_keras.py
	@touch $(STAMP)

# Graphviz draws model plots; without it kfx skips plots with a message.
graphviz:
	@if command -v dot >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing graphviz (apt-get)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null) \
		|| echo "warning: graphviz could not be installed; model plots will be skipped"; \
	else echo "note: graphviz 'dot' is missing and we are not root; model plots will be skipped"; fi

# Headless Chromium and its driver: the tests that open TensorBoard's dashboards in a real
# browser (selenium) skip with the reason where they cannot be installed.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver (apt-get)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
		|| echo "warning: chromium could not be installed; the browser tests will be skipped"; \
	else echo "note: chromium is missing and we are not root; the browser tests will be skipped"; fi

demo: $(STAMP) graphviz
	$(VENV)/bin/kfx demo

# The suite without its `slow` cases (real clusters, searches, whole networks), then the
# backend-neutral part under JAX; `make test-slow` runs the slow cases (CI's second step).
test: $(STAMP) graphviz browser
	$(PY) -m pytest -n 2 --dist worksteal -q -m "not slow"
	KERAS_BACKEND=jax $(PY) -m pytest -n 2 --dist worksteal -q -m "not slow" $(JAX_TESTS)

test-slow: $(STAMP) graphviz browser
	$(PY) -m pytest -n 2 --dist worksteal -q -m slow
	KERAS_BACKEND=jax $(PY) -m pytest -n 2 --dist worksteal -q -m slow $(JAX_TESTS)

# Every row of the matrix (oldest, newest), TensorFlow then JAX, then the wheel test.
test-matrix: $(STAMP) graphviz
	$(MATRIX) --jax-tests $(JAX_TESTS)
	$(MAKE) test-wheel

# CI's third step: the oldest row's TensorFlow suite over the layers, blocks, templates,
# callbacks and kfx.distribute, then the wheel test (the full oldest TF suite takes about 30
# minutes on 2 busy cores: docs/install.md). `make test-matrix` runs every suite on every row.
OLDEST_TESTS := tests/layers tests/blocks tests/templates tests/callbacks tests/distribute tests/migrate
test-oldest: $(STAMP) graphviz
	$(MATRIX) oldest --suites tf --tf-tests $(OLDEST_TESTS)
	$(MAKE) test-wheel

# The wheel and sdist, installed into a copy of the oldest row's venv (built if missing).
test-wheel: $(STAMP)
	$(MATRIX) oldest --build-only
	KFX_WHEEL_BASE=.matrix/oldest $(PY) -m pytest -p no:xdist -q tests/test_wheel.py

bench: $(STAMP) graphviz
	for b in import_time blocks layers models monitoring search distributed migrate; do \
		$(PY) benchmarks/$$b.py || exit 1; done

docs: $(STAMP) graphviz
	$(PY) docs/make_figures.py
	$(VENV)/bin/mkdocs build --strict

lint: $(STAMP)
	$(VENV)/bin/ruff check kfx tests benchmarks examples docs tools
	$(VENV)/bin/ruff format --check kfx tests benchmarks tools

format: $(STAMP)
	$(VENV)/bin/ruff format kfx tests benchmarks tools
	$(VENV)/bin/ruff check --fix kfx tests benchmarks tools

clean:
	rm -rf $(VENV) site runs .pytest_cache .matrix dist build
