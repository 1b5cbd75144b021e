# Two commands set up a fresh machine:  `make demo` (the main job)  and  `make test` (the tests).
# Each creates the virtual environment it needs (.venv) from pyproject.toml; nothing is installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test test-fast validate bench lab dashboard browser env clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

env: $(STAMP)

demo: $(STAMP)
	$(BIN)/sendmodel compare scenarios/options/*.yaml --baseline status_quo --reps auto --precision 1 \
		--max-reps 80 --seed 2024 --workers 2 --out results/options

test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

validate: $(STAMP)
	$(BIN)/sendmodel validate --theory --workers 2

# Speed and memory: four benchmarks, each printing its table (README "Performance"). About two minutes;
# figures are only comparable on an idle machine (each benchmark compares within its own run).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_model.py --memory-reps 100
	$(BIN)/python benchmarks/bench_interactive.py
	$(BIN)/python benchmarks/bench_sweep.py

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# The explore dashboard as a web page, no code shown (Voila). DASHBOARD=compare or business_case for the others.
DASHBOARD ?= explore
dashboard: $(STAMP)
	$(BIN)/voila dashboards/$(DASHBOARD).ipynb --port=8866 --Voila.ip=127.0.0.1

# The browser test drives Debian's Chromium: install it when missing (as root, or with sudo). If that is
# impossible the test skips and says why; nothing else depends on it.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  ( $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium chromium-driver ) \
	    >/dev/null 2>&1 || echo "make: could not install chromium; the browser test will be skipped"; \
	fi

clean:
	rm -rf $(VENV) results
