# govcloud: every target creates and uses the project's own virtualenv (.venv).
# `make demo` and `make test` are the two commands a new machine needs (see README).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
OUT    := out
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv system-deps demo test unit integration bench lint clean

help:
	@echo "make demo   set up, then validate/check/consolidate the demo province, plan/apply it on devcloud, harden a Debian target, audit; reports in $(OUT)/"
	@echo "make test   set up (Python venv + Debian packages), then run unit and integration tests"
	@echo "make bench  run the benchmarks under bench/ (each prints one JSON object)"
	@echo "make lint   ruff + mypy"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

# Debian packages and unpacked content the integration tests need (root; idempotent, fast when done).
system-deps: venv
	@for s in scripts/system-deps.sh scripts/hardening-deps.sh scripts/audit-deps.sh; do \
	  if [ -f $$s ]; then VENV=$(CURDIR)/$(VENV) bash $$s || exit 1; fi; done

demo: venv system-deps
	@mkdir -p $(OUT)
	@echo "== validate: the demo province and the example requests" >&2
	-$(BIN)/govcloud validate inventory examples/requests --format table
	@echo "== check: policies and consolidation rules (findings expected: the examples include bad requests)" >&2
	-$(BIN)/govcloud check inventory examples/requests --format table
	-$(BIN)/govcloud check inventory examples/requests --format html --output $(OUT)/report.html
	-$(BIN)/govcloud check inventory examples/requests --format sarif --output $(OUT)/report.sarif
	@echo "== consolidation (集约化): per-level shares, duplicates, migration plan" >&2
	-$(BIN)/govcloud consolidation inventory examples/requests --format table
	-$(BIN)/govcloud consolidation inventory examples/requests --format html --output $(OUT)/consolidation.html
	@echo "== provisioning: devcloud up, then plan / apply / apply again / drift of the good example requests" >&2
	-OUT=$(OUT) bash scripts/demo/cloud.sh
	@echo "== hardening (MLPS level-3 baseline) on a fresh Debian 12 target: audit, harden, audit" >&2
	-OUT=$(OUT) bash scripts/target/demo.sh
	@echo "== 三员 keys (SM2): signed roles, three approvals of an MLPS 3 request, a signed evidence bundle, tampering caught" >&2
	-OUT=$(OUT) bash scripts/demo/keys.sh
	@echo "== audit (documents and the latest hardening results; no cloud): one report for the assessor" >&2
	-env -u OS_CLOUD $(BIN)/govcloud audit inventory examples/requests --format table
	-env -u OS_CLOUD $(BIN)/govcloud audit inventory examples/requests --format html --output $(OUT)/audit.html
	@echo "demo reports in $(OUT)/: report.html consolidation.html report.sarif harden-before.html harden-after.html audit.html audit-cloud.html plan.txt" >&2

test: venv system-deps
	$(BIN)/pytest -q

unit: venv
	$(BIN)/pytest -q -m "not integration"

bench: venv
	@for b in bench/*.py; do echo "== $$b" >&2; taskset -c 0 $(BIN)/python $$b || exit 1; done

lint: venv
	$(BIN)/ruff check govcloud tests bench cli.py
	$(BIN)/mypy govcloud

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache .mypy_cache
