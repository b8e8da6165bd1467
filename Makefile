# The README's two commands: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8866
HOST   ?= 127.0.0.1

.PHONY: run test setup browser lint bench clean

run: setup
	$(BIN)/atmp-hta evaluate parameters/*.yaml
	$(BIN)/atmp-hta dashboard --port $(PORT) --host $(HOST)

test: setup browser
	$(BIN)/python -m pytest

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[app,dask,test]'
	touch $(STAMP)

# Debian's chromium, driven by Playwright's Python package (never `playwright install`).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && apt-get -o DPkg::Lock::Timeout=900 install -y -qq chromium >/dev/null; }

lint: setup
	$(BIN)/ruff check atmp_hta tests benchmarks

bench: setup
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache test-artifacts
