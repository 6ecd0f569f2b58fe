# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
# Lambda runs python3.13; use it when pyenv has it, else the default python3.
PYTHON ?= $(shell for p in $$(pyenv root 2>/dev/null)/versions/3.13.0/bin/python3.13 python3.13 python3; do $$p -c 'import sys' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .venv-tools
export SAM_CLI_TELEMETRY := 0

.PHONY: run test test-unit lint lint-template build bench clean ci enqueue digest contract engine-events

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip==25.3
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

run: $(VENV)/.installed  ## start moto, the Slack stand-in and the local API gateway
	$(PY) -m localdev.run

# Both talk to the running `make run` on the ports and with the tenant it was started with.
EVENT ?= events/investigation_completed.json
enqueue: $(VENV)/.installed  ## send an example SQS message to the running sandbox (make enqueue EVENT=... [NEW_ID=1])
	$(PY) -m localdev.enqueue $(EVENT) $(if $(NEW_ID),--new-id)

# The published contract's schemas and OpenAPI document, generated from the code (docs/contract/README.md).
contract: $(VENV)/.installed  ## regenerate docs/contract/openapi.json and docs/contract/schemas/
	$(PY) docs/contract/generate.py

engine-events: $(VENV)/.installed  ## print the outbound events the running sandbox put on the engine bus
	$(PY) -m localdev.engine_events_cli

# Two workers (pytest-xdist): this machine and CI have two cores. The session's log records go to .test-logs/
# too (one file per worker): `make security` scans them for tokens and secrets.
test: $(VENV)/.installed  ## the whole test suite: unit, integration, e2e and localdev tiers
	@mkdir -p .test-logs
	$(PY) -m pytest -q -n 2 --log-file=.test-logs/pytest.log --log-file-level=DEBUG

test-unit: $(VENV)/.installed  ## the fast tier: pure code, no moto, no network (seconds)
	$(PY) -m pytest -q tests/unit

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/cfn-lint template.yaml

# sam pins its own boto3 and cfn-lint: it lives in its own environment.
$(TOOLS)/.installed:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q aws-sam-cli==1.170.0
	touch $@

lint-template: $(TOOLS)/.installed
	$(TOOLS)/bin/sam validate --lint --region us-east-1

# No Docker here. Every function and layer is built by lambda-build/Makefile (BuildMethod: makefile): git-tracked
# files only, deps as arm64 cp313 wheels, all of it compiled to .pyc by PYTHON313 (the Lambda runtime's version).
PYTHON313 := $(shell readlink -f $$(command -v $(PYTHON)))
build: $(TOOLS)/.installed
	rm -rf .aws-sam/build
	PYTHON313=$(PYTHON313) $(TOOLS)/bin/sam build --build-dir .aws-sam/build

# The built artifact holds what Lambda should run: aarch64 binaries, cpython-313 bytecode for every module,
# nothing else (lambda-build/check_build.py prints what it found).
.PHONY: check-build checkov security
check-build:
	$(PYTHON313) lambda-build/check_build.py .aws-sam/build

# checkov pins an old boto3 of its own: it lives in its own environment too. Skips are justified next to each
# one, in template.yaml (Metadata: checkov: skip) or .checkov.yaml.
CHECKOV := .venv-checkov
$(CHECKOV)/.installed:
	$(PYTHON) -m venv $(CHECKOV)
	$(CHECKOV)/bin/pip install -q checkov==3.3.30
	touch $@

checkov: $(CHECKOV)/.installed
	$(CHECKOV)/bin/checkov --config-file .checkov.yaml --file template.yaml

# Secret scan of test-session logs (Slack tokens, the stand-in's secrets): make security SECURITY_LOGS=path...
SECURITY_LOGS ?= .test-logs
security:
	$(PYTHON) .ci/scan_secrets.py $(SECURITY_LOGS)

# Each script prints its figures; bench/README.md keeps the last ones.
bench: $(VENV)/.installed
	$(PY) bench/post_investigation.py
	$(PY) bench/feedback_ack.py
	$(PY) bench/digest.py
	$(PY) bench/storm.py

# Run the digest now for a tenant and a day against the running sandbox (make run), e.g.
#   make digest DAY=2026-11-26 SEED=1   (SEED writes example counters first)
TENANT ?=
DAY ?=
digest: $(VENV)/.installed
	$(PY) -m localdev.digest_cli $(if $(TENANT),--tenant $(TENANT)) $(if $(DAY),--day $(DAY)) $(if $(SEED),--seed-example)

# What CI checks, in .ci/run's order (.ci/run also installs `file` and scans the test-session logs).
ci: lint lint-template build check-build checkov test

clean:
	rm -rf $(VENV) $(TOOLS) $(CHECKOV) .aws-sam
