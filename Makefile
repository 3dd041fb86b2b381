# Two commands do all the set-up (README "Set-up"):
#   make conformance   install, then run the main job: `amc run all --reference` on the embedded default
#   make test          install, then run the suite's own tests (what CI runs)
# Node/npm is optional: without it the EntryPoint artifact, anvil and contract rebuilds are
# absent and the checks that need them SKIP with that reason.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
WORKERS ?= 2

.PHONY: conformance test install node lint type lock bench nightly fuzz clean readme-rules mutation

$(BIN)/amc: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(BIN)/amc

install: $(BIN)/amc node

node:
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --loglevel=error >/dev/null && echo "node parts installed (node_modules/)"; \
	else echo "npm not found: EntryPoint artifact, anvil and contract rebuilds will SKIP"; fi

conformance: install
	$(BIN)/amc run all --reference

test: install
	$(BIN)/python -m pytest -n $(WORKERS) -q

# Nightly: the wall-clock checks (--slow) with a bigger example budget and a shared example
# database, then the full mutant x rule cross-check and the slow self-tests under the date as
# seed (a different seed every night; a failure names it: AMC_QUALITY_SEED=<date> reproduces).
nightly: install
	$(BIN)/amc run all --reference --slow --max-examples 500 --hypothesis-db .hypothesis-nightly
	AMC_QUALITY_SEED=$$(date -u +%Y%m%d) $(BIN)/python -m pytest -n $(WORKERS) -q -m "quality or slow"
	$(BIN)/amc fuzz replay
	$(BIN)/amc run sidecar --reference --profile pimlico-realtime --rule SC-018 --rule SC-023 --rule SC-024 --rule SC-025

# Every fuzz target for FUZZ_SECONDS with WORKERS libFuzzer workers (findings in
# corpora/<target>/crashes; nightly.yml runs the targets in parallel jobs instead).
FUZZ_SECONDS ?= 300
fuzz: install
	for t in $$($(BIN)/python -c "from conformance.fuzz.targets import TARGETS; print(*TARGETS)"); do \
	  $(BIN)/amc fuzz $$t --seconds $(FUZZ_SECONDS) --workers $(WORKERS) || exit 1; done

lint: $(BIN)/amc
	$(BIN)/ruff check conformance tests

type: $(BIN)/amc
	$(BIN)/mypy conformance

bench: install
	$(BIN)/amc bench

# Mutation testing of the reference webhook's policy, signature and decoding code with cosmic-ray,
# the conformance rules as the test (README "Mutation testing of the references"); nightly.
# A quick score: make mutation MUTATION_ARGS="--sample 10 --budget-minutes 12"
mutation: install
	$(BIN)/python scripts/mutation.py $(MUTATION_ARGS)

lock:
	$(PYTHON) -m venv .lockenv && .lockenv/bin/pip install --quiet -r requirements.in
	(echo '# Pinned by `make lock` (pip freeze --all of requirements.in on Python 3.11, pip excluded). CI installs exactly these.'; \
	 .lockenv/bin/pip freeze --all --exclude-editable | grep -v '^pip==') > requirements.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) node_modules .cache

readme-rules: $(BIN)/amc
	$(BIN)/python -m conformance.readme
