# govcloud: every target creates and uses the project's own virtualenv (.venv).
# `make demo` and `make test` are the two commands a new machine needs (see README).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
OUT    := out
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv system-deps demo test unit integration bench lint i18n clean

help:
	@echo "make demo   set up, then validate/check/consolidate the demo province, plan/apply it on devcloud, harden a Debian target, audit; reports in $(OUT)/"
	@echo "make test   set up (Python venv + Debian packages), then run unit and integration tests"
	@echo "make bench  run the benchmarks under bench/ (each prints one JSON object)"
	@echo "make lint   ruff + mypy + ansible-lint (production profile) on playbooks/"
	@echo "make i18n   extract the messages, merge them into the Chinese catalog, compile it (pybabel)"

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

# Each step says which exit code it expects and why (scripts/demo/step.sh): findings (exit 1) are
# expected where the examples are bad on purpose. A step that exits otherwise stops the demo.
STEP := bash scripts/demo/step.sh
GC   := $(BIN)/govcloud
FINDINGS := findings: the bad example requests break policies on purpose

demo: venv system-deps
	@mkdir -p $(OUT)
	@echo "== validate: the demo province and the example requests" >&2
	@$(STEP) 0 "every document is well-formed; the bad examples break policies, not the schema" -- \
	  $(GC) validate inventory examples/requests --format table
	@echo "== check: policies and consolidation rules" >&2
	@$(STEP) 1 "$(FINDINGS)" -- $(GC) check inventory examples/requests --format table
	@$(STEP) 1 "$(FINDINGS)" -- \
	  $(GC) check inventory examples/requests --format html --output $(OUT)/report.html
	@$(STEP) 1 "$(FINDINGS)" -- \
	  $(GC) check inventory examples/requests --format sarif --output $(OUT)/report.sarif
	@echo "== consolidation (集约化): per-level shares, duplicates, migration plan" >&2
	@$(STEP) 0 "a report: consolidation fails a run only with --fail-on" -- \
	  $(GC) consolidation inventory examples/requests --format table
	@$(STEP) 0 "a report: consolidation fails a run only with --fail-on" -- \
	  $(GC) consolidation inventory examples/requests --format html --output $(OUT)/consolidation.html
	@echo "== provisioning: devcloud up, then plan / apply / apply again / drift of the good example requests" >&2
	@OUT=$(OUT) $(STEP) 0 "each of its steps went as expected (or it said why it skipped)" -- \
	  bash scripts/demo/cloud.sh
	@echo "== hardening (MLPS level-3 baseline) on a fresh Debian 12 target: audit, harden, audit" >&2
	@OUT=$(OUT) $(STEP) 0 "each of its steps went as expected (or it said why it skipped)" -- \
	  bash scripts/target/demo.sh
	@echo "== 三员 keys (SM2): signed roles, three approvals of an MLPS 3 request, a signed evidence bundle, tampering caught" >&2
	@OUT=$(OUT) $(STEP) 0 "each of its steps went as expected" -- \
	  bash scripts/demo/keys.sh
	@echo "== audit (documents and the latest hardening results; no cloud): one report for the assessor" >&2
	@$(STEP) 1 "$(FINDINGS)" -- env -u OS_CLOUD $(GC) audit inventory examples/requests --format table
	@$(STEP) 1 "$(FINDINGS)" -- \
	  env -u OS_CLOUD $(GC) audit inventory examples/requests --format html --output $(OUT)/audit.html
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
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/ansible-lint --profile production playbooks/

# Messages in two languages (CONTRIBUTING.md): extract the ids from the code, merge them into the
# Chinese catalog (new ones arrive untranslated: tests/unit/test_i18n.py fails until translated),
# compile the .mo that ships as package data.
LOCALE := govcloud/locale
i18n: venv
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output -o $(LOCALE)/govcloud.pot .
	$(BIN)/pybabel update -i $(LOCALE)/govcloud.pot -d $(LOCALE) -D govcloud -l zh_CN --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d $(LOCALE) -D govcloud -l zh_CN --statistics

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache .mypy_cache
