# The two commands of the README: `make demo` and `make test`. Both set up .venv when it is missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench validate fuzz lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,validate,report,cluster,experiments]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sporadic run examples/vehicle/vehicle.toml
	$(BIN)/sporadic run examples/vehicle/vehicle-unbudgeted.toml

test: $(STAMP)
	$(BIN)/python -m ruff check src tests bench
	$(BIN)/python -m ruff format --check src tests bench
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/wasm.py
	$(BIN)/python bench/sweep.py

# Runs every scenario of tests/validation on the real seL4 kernel under qemu, rewrites the golden
# timelines and checks the simulator against them (docs/validation.md says what to install).
validate: $(STAMP)
	$(BIN)/python -m sporadic.validation.corpus tests/validation/scenarios

# The hostile-input fuzzers of tests/fuzz, far longer than `make test` runs them (tens of
# minutes): traces cut and flipped, TOML and Microkit mutations, WebAssembly host-call arguments.
FUZZ_EXAMPLES ?= 20000
fuzz: $(STAMP)
	SPORADIC_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/fuzz -q -p no:cacheprovider -s

lint: $(STAMP)
	$(BIN)/python -m ruff check src tests bench
	$(BIN)/python -m ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/python -m ruff format src tests bench

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
