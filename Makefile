# slawatch: every target sets up what it needs first; `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# Test files side by side (a file's tests stay in one process, so module fixtures are shared).
PYTEST_PARALLEL ?= -n 3 --dist loadfile
SOAK_RUNS ?= 20

.DEFAULT_GOAL := help

help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench,report]'
	@touch $(STAMP)

venv: $(STAMP) ## create or update .venv with slawatch and its test tools

run: $(STAMP) ## embedded broker + topics + worker + demo traffic; Ctrl-C stops all
	$(VENV)/bin/slawatch run

test: $(STAMP) prometheus alertmanager chromium ## the whole suite: unit, property, golden, real-broker, real-Prometheus, Alertmanager and browser tests
	$(PY) -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

test-fast: $(STAMP) prometheus ## everything but the real-broker integration tests
	$(PY) -m pytest -m "not integration" $(PYTEST_PARALLEL) $(PYTEST_ARGS)

soak: $(STAMP) ## the crash, rebalance and broker-outage tests SOAK_RUNS times (default 20) under a CPU hog
	SOAK_RUNS=$(SOAK_RUNS) $(PY) tests/soak.py

bench: $(STAMP) ## end-to-end and engine benchmarks on the embedded broker; figures printed and written to bench-results.json
	$(PY) bench/run_bench.py --out bench-results.json

# Install a Debian package when one of its commands is missing; say how to install it if that fails.
# $(call debian_package,COMMANDS,PACKAGE,WHAT NEEDS IT)
define debian_package
	@have() { for c in $(1); do command -v $$c >/dev/null || return 1; done; }; have && exit 0; \
	echo "$(1) missing: installing Debian's $(2) package ($(3))"; \
	sudo=; [ "$$(id -u)" = 0 ] || sudo="sudo -n"; \
	apt="$$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends $(2)"; \
	{ $$apt || { $$sudo apt-get update -q && $$apt; }; } && have \
	  || { echo "make: could not install $(2); install it yourself (Debian/Ubuntu: sudo apt-get install $(2))" >&2; exit 1; }
endef

prometheus: ## install Debian's prometheus (prometheus, promtool) when missing: the monitoring tests run them
	$(call debian_package,prometheus promtool,prometheus,the rules and dashboard tests run them)

alertmanager: ## install Debian's prometheus-alertmanager when missing: the notifier tests run a real one
	$(call debian_package,prometheus-alertmanager,prometheus-alertmanager,the notifier tests run it)

chromium: ## install Debian's chromium when missing: the status page is tested in headless Chromium
	$(call debian_package,chromium,chromium,the status page tests load it in a real browser)

dashboards: $(STAMP) ## rebuild deploy/grafana/dashboards/*.json from deploy/grafana/build.py
	$(PY) deploy/grafana/build.py

validate: $(STAMP) ## validate the example catalogues
	$(VENV)/bin/slawatch catalog validate examples/catalog

clean: ## remove the venv, run state and caches
	rm -rf $(VENV) .run .pytest_cache .hypothesis build src/*.egg-info

.PHONY: help venv run test test-fast soak bench validate clean prometheus alertmanager chromium dashboards
