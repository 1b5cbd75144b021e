# Two commands set up a fresh machine:  `make demo` (the main job)  and  `make test` (lint, then the tests).
# Each creates the virtual environment it needs (.venv) with the exact versions in requirements.lock (the ones
# the tests passed on), then the package itself; nothing is installed by hand. The venv is rebuilt whenever
# pyproject.toml or the lock changes. After changing a dependency in pyproject.toml, run `make lock`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements.lock
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | cksum | cut -d' ' -f1)

.PHONY: demo test test-fast lint typecheck lock validate bench lab dashboard browser env clean

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	rm -f $(VENV)/.installed-*
	touch $@

env: $(STAMP)

# The lock: every package of pyproject.toml with the dev extra, at exact versions, for CPython 3.11.7 on Linux
# (the machines' Python), resolved by uv in a throwaway venv. Pins already in the lock are kept while
# pyproject.toml allows them; `make lock UPGRADE=1` moves every package to the newest release allowed.
UV_VERSION := 0.13.9
LOCK_PYTHON := 3.11.7
lock:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  $(PYTHON) -m venv "$$tmp" && "$$tmp/bin/python" -m pip install --quiet uv==$(UV_VERSION) && \
	  "$$tmp/bin/uv" pip compile pyproject.toml --extra dev --python-version $(LOCK_PYTHON) --python-platform linux \
	    --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade) -o $(LOCK)

# Lint (part of `make test`, so CI runs it): ruff with the rules in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check sendmodel tests benchmarks

# Types: mypy on the engine (the simulation core). Not part of `make lint` yet: it does not pass there.
ENGINE := $(or $(wildcard sendmodel/engine),sendmodel/model.py sendmodel/capacity.py sendmodel/demand.py \
	sendmodel/rng.py sendmodel/distributions.py)
typecheck: $(STAMP)
	$(BIN)/mypy $(ENGINE)

demo: $(STAMP)
	$(BIN)/sendmodel compare scenarios/options/*.yaml --baseline status_quo --reps auto --precision 1 \
		--max-reps 80 --seed 2024 --workers 2 --out results/options

# The browser test runs after the rest, on its own: a dashboard served while the other tests load both cores
# can take minutes to answer, which is not what a user sees.
test: $(STAMP) lint browser
	$(BIN)/python -m pytest -n 2 -q -m "not browser"
	$(BIN)/python -m pytest -q -p no:xdist -m browser

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

validate: $(STAMP)
	$(BIN)/sendmodel validate --theory --workers 2

# Speed and memory (README "Performance"): the engine against bare SimPy, the model's year and memory, sweeps,
# then every performance target in one run (benchmarks/bench_targets.py: the business case at 250,000 children,
# an explore update, a simulated year, import, the notebooks in full, a real Dask cluster). About 25 minutes on
# 2 cores; figures are only comparable on an idle machine (each benchmark compares within its own run).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_model.py --memory-reps 100
	$(BIN)/python benchmarks/bench_sweep.py
	$(BIN)/python benchmarks/bench_targets.py

lab: $(STAMP)
	$(BIN)/sendmodel lab

# The dashboards as one web page with a tab each, no code shown (Voila). DASHBOARD=explore, compare or
# business_case for one of them alone.
# This machine only by default; HOST=0.0.0.0 serves colleagues on a network and needs TOKEN=a-shared-secret
# (or TOKEN=auto for a random one): `sendmodel dashboard --help`.
DASHBOARD ?= app
HOST ?= 127.0.0.1
PORT ?= 8866
TOKEN ?=
dashboard: $(STAMP)
	$(BIN)/sendmodel dashboard --app $(DASHBOARD) --host $(HOST) --port $(PORT) $(if $(TOKEN),--token $(TOKEN))

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
