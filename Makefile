# The two commands of the README: `make demo` and `make test`. Both set up .venv when it is missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-pure bench bench-peers validate fuzz lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

# The modules setup.py compiles with mypyc (docs/performance.md); an edited one is compiled again
# in place by the next `make`, so the build never runs stale code. SPORADIC_PURE=1 compiles none.
COMPILED := $(shell sed -n 's/^    "\(src\/sporadic\/.*\.py\)",$$/\1/p' setup.py)

$(STAMP): $(BIN)/python pyproject.toml setup.py $(COMPILED)
	$(BIN)/python -m pip install --quiet --upgrade pip 'setuptools>=77' wheel 'mypy>=1.13'
	$(BIN)/python -m pip install --quiet --no-build-isolation -e '.[test,validate,report,cluster,experiments,wasmer]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sporadic run examples/vehicle/vehicle.toml
	$(BIN)/sporadic run examples/vehicle/vehicle-unbudgeted.toml

# The suite runs on the compiled build, then again on the pure-Python sources (a copy of src/
# without the compiled modules, first on the path), when the install is compiled.
test: $(STAMP)
	$(BIN)/python -m ruff check src tests bench setup.py
	$(BIN)/python -m ruff format --check src tests bench setup.py
	$(BIN)/python -m pytest
	@if $(BIN)/python -c "import sporadic.kernel.kernel as k, sys; sys.exit(not k.__file__.endswith('.so'))"; then \
		$(MAKE) --no-print-directory test-pure; \
	else echo "sporadic: the install is pure Python: one pass is the whole suite"; fi

test-pure: $(STAMP)
	rm -rf build/pure && mkdir -p build/pure && cp -r src/sporadic build/pure/
	find build/pure -name '*.so' -delete
	PYTHONPATH=build/pure $(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/wasm.py
	$(BIN)/python bench/sweep.py
	$(BIN)/python bench/report.py

# sporadic against SimSo 0.8.5 on the same task sets (SimSo goes into bench/.simso-venv)
bench-peers: $(STAMP)
	$(BIN)/python bench/peers.py --install-simso

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
	rm -rf $(VENV) build *.egg-info src/*.egg-info src/*__mypyc*.so
	find src -name '*.so' -delete
