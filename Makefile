# All set-up a fresh machine needs: `make run` and `make test` create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run app test faults bench lint clean validate

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pksim.engine.warmup  # compile the kernels once: the first run is quick
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/pksim run

# The local web app (Panel; opens in the browser; Ctrl-C stops it). See docs/app.md.
app: $(STAMP)
	$(BIN)/pksim app

test: $(STAMP)
	$(BIN)/ruff check pksim tests benchmarks validation
	$(BIN)/python -m pytest

# The fault tests alone (signals, concurrent runs, a full disk; part of `make test` too).
faults: $(STAMP)
	$(BIN)/python -m pytest tests/faults -v

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check pksim tests benchmarks validation
	$(BIN)/ruff format --check pksim tests benchmarks validation

# docs/validation.md and docs/validation.png from validation/observations.toml (issue 12).
validate: $(STAMP)
	$(BIN)/python -m validation

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
