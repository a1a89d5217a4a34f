# Every target bootstraps .venv itself: a fresh clone needs only `make test` or `make demo`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
# The interpreters of `make test-matrix` (empty: python3.10 ... python3.13, else pyenv's).
PY310 ?=
PY311 ?=
PY312 ?=
PY313 ?=

.PHONY: help demo test check lint types pytest docs dist bench-smoke record bench faults fuzz test-matrix generate clean

help:
	@echo "make demo    run the SDK end to end against the bundled reference server"
	@echo "make test    lint, type checks (mypy, pyright, verifytypes), the test suite, docs and dist"
	@echo "make check   the fast lane while editing: lint, then the tests not marked slow (<= 60 s)"
	@echo "make docs    the documentation site (guides, API reference), strict, into site/"
	@echo "make dist    sdist and wheel into dist/, twine check --strict, the wheel without extras"
	@echo "make generate  rewrite dtmf/_resources.py from the wire contract (dtmf/_contract.py)"
	@echo "make record  re-record cassettes (set DTMF_TOKEN and DTMF_BASE_URL for a live account)"
	@echo "make bench   the performance benchmark: paired ratios, each against its target"
	@echo "make bench-webhooks  webhook deliveries/s under 4 uvicorn workers, in-memory vs Redis"
	@echo "make faults  the fault-injection matrix as a table"
	@echo "make fuzz    schemathesis against the reference server, long (make test runs it short)"
	@echo "make test-matrix  the tests on 3.10 (lowest dependencies), 3.11, 3.12, 3.13 (newest)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "dtmf-io needs Python 3.10 or newer (set PYTHON=python3.x)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,fuzz,docs,ecosystem]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/quickstart.py

test: lint types pytest docs dist bench-smoke

# The edit-test loop: lint and the tests not marked slow (tests/conftest.py says which
# are); `make test` stays the full gate. `make check PYTEST_ARGS=--lf` reruns failures.
PYTEST_ARGS ?=
check: lint
	$(BIN)/pytest -q -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check dtmf tests examples bench docs/hooks.py
	$(BIN)/ruff format --check dtmf tests examples bench docs/hooks.py

# pyright finds the venv's packages through the python on PATH.
types: $(STAMP)
	$(BIN)/mypy
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pyright
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pyright --verifytypes dtmf --ignoreexternal > $(VENV)/verifytypes.txt \
		|| { cat $(VENV)/verifytypes.txt; exit 1; }
	@grep "Type completeness score" $(VENV)/verifytypes.txt

pytest: $(STAMP)
	$(BIN)/pytest

# The resource methods and model actions, written out from the wire contract.
generate: $(STAMP)
	$(BIN)/python -m tests.generate

# Strict: a broken link, anchor, snippet or reference fails the build; then every
# public name must be in the API reference. (NO_MKDOCS_2_WARNING: the theme's notice of
# its end of life, May 2027, on every build; mkdocs.yml says what replaces it.)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	$(BIN)/python -m tests.docs_reference site

# What PyPI would get, checked as a pip user would meet it.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*
	$(BIN)/python -m tests.wheel_check dist

record: $(STAMP)
	$(BIN)/python -m tests.record

bench: $(STAMP)
	$(BIN)/python -m bench

# Deliveries per second to a webhook receiver under 4 uvicorn workers, with and
# without RedisDedupe (needs redis-server: .ci/run installs it).
.PHONY: bench-webhooks
bench-webhooks: $(STAMP)
	$(BIN)/python -m bench.webhooks

# The benchmarks once, with a few iterations and no targets, so that they never rot.
bench-smoke: $(STAMP)
	$(BIN)/python -m bench --smoke
	$(BIN)/python -m bench.webhooks --smoke

# Every operation x every fault x both clients x in-process and on a port, as a table.
faults: $(STAMP)
	$(BIN)/python -m tests.faultmatrix

# schemathesis drives the reference server from its OpenAPI document: 300 cases per
# operation and phase, a new seed each run (it prints it); `make test` runs 12, seed 16.
# More options: make fuzz FUZZ_ARGS="--seed 7 --max-examples 1000".
FUZZ_ARGS ?=
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz $(FUZZ_ARGS)

# The suite in fresh venvs under .matrix/: Python 3.10 with the lowest declared
# dependencies (click and rich too), 3.11 and 3.12, and 3.13 with the newest. Installs
# from PyPI: not part of `make test`. The interpreters: PY310 ... PY313, else
# python3.10 ... python3.13 on PATH, else pyenv's.
test-matrix: $(STAMP)
	PY310="$(PY310)" PY311="$(PY311)" PY312="$(PY312)" PY313="$(PY313)" $(BIN)/python -m tests.matrix

clean:
	rm -rf $(VENV) .matrix .mypy_cache .ruff_cache .pytest_cache .hypothesis site dist
