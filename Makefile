# All set-up a fresh machine needs: `make run` and `make test` create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test faults bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pksim.engine.warmup  # compile the kernels once: the first run is quick
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/pksim run

test: $(STAMP)
	$(BIN)/ruff check pksim tests benchmarks
	$(BIN)/python -m pytest

# The fault tests alone (signals, concurrent runs, a full disk; part of `make test` too).
faults: $(STAMP)
	$(BIN)/python -m pytest tests/faults -v

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check pksim tests benchmarks
	$(BIN)/ruff format --check pksim tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
