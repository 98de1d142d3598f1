# Every target creates .venv and installs the project into it on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint venv clean screenshots

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/skypatrol run

test: $(STAMP)
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks $(BENCH)

# The console's main screens into docs/screenshots/ (needs Debian's chromium, and a CJK font such as
# Debian's fonts-wqy-microhei for the Chinese screens).
screenshots: $(STAMP)
	@fc-list :lang=zh 2>/dev/null | grep -q . || echo "warning: no CJK font installed (apt-get install fonts-wqy-microhei); Chinese text will show as boxes" >&2
	$(BIN)/python -m skypatrol.console.screenshots --out docs/screenshots

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true

clean:
	rm -rf $(VENV) var .pytest_cache
