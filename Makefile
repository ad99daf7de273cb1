# The project's interface: CI runs the same targets a person runs.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Node 22 from node_modules first: the CDK CLI and jsii (behind aws-cdk-lib) both run on it, so Node 20's
# end-of-life banner never shows.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1

.PHONY: setup setup-parts synth dist test test-long unit contract stack packaging lint pytest bench snapshot integ-deploy clean

# On CI's 2 cores, what does not depend on each other runs at once (a sub-make with --jobs): the two
# virtualenvs and npm ci, then lint beside the tests (mypy computes while the tests wait on their stand-ins'
# timers and subprocesses).
SETUP := $(VENV)/.installed $(VENV)/checkov/.installed node_modules/.installed
# pytest-xdist: 3 workers (measured on 2 cores: fewer leave the cores idle while tests wait, more add each
# worker's start-up); tests that share an expensive fixture share a worker (tests/conftest.py).
PYTEST_WORKERS ?= 3
PYTEST := $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder

setup:
	@$(MAKE) --no-print-directory --jobs=3 setup-parts

setup-parts: $(SETUP)
	@:

# mkdir first: the checkov virtualenv, made at the same time, may create .venv between venv's check and mkdir.
$(VENV)/.installed: requirements.txt pyproject.toml
	mkdir -p $(VENV)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# checkov in a virtualenv of its own: it pins a boto3 the handler's tests cannot use.
$(VENV)/checkov/.installed: tests/tools/checkov-requirements.txt
	test -x $(VENV)/checkov/bin/python || python3 -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
		-r tests/tools/checkov-requirements.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

synth: setup
	cdk synth --quiet

# The sdist and the wheel, to install into a CDK app's environment until a package index carries them
# (README, Install): built offline with the virtualenv's pinned setuptools, no build isolation.
dist: $(VENV)/.installed
	rm -rf dist
	$(PY) -m build --sdist --wheel --no-isolation --outdir dist .

lint: $(VENV)/.installed
	ruff check .
	ruff format --check .
	mypy

# Every check: lint and every test, side by side; either failing fails it.
test:
	@$(MAKE) --no-print-directory --jobs=3 lint pytest

pytest: $(SETUP)
	$(PYTEST)

# The randomized test of the invariant at length (Hypothesis profile "long", tests/conftest.py); make test
# runs its one-minute profile.
test-long: setup
	$(PY) -m pytest tests/model --hypothesis-profile=long

# One level of tests at a time (tests/README.md): each module's unit tests and the randomized model; the
# handler asset against the stand-ins; whole stacks through the CloudFormation stand-in; wheel, app and docs.
unit: setup
	$(PYTEST) tests/unit tests/model

contract: setup
	$(PYTEST) tests/contract

stack: setup
	$(PYTEST) tests/stack

packaging: setup
	$(PYTEST) tests/packaging tests/integ

bench: setup
	$(PY) -m tests.bench

# Accept a change of the integ test's templates (an asset hash, or, deliberately, a logical id).
snapshot: setup
	$(PY) -m tests.integ.snapshot

# The integ test against the real service, with the caller's credentials: deploys the test stack, then the
# assertion stack (whose deployment fails unless both pools are ACTIVE at 48 h), and destroys both whatever
# the outcome. Never run by CI. Region: AWS_REGION, else us-east-1.
INTEG_APP := $(PY) tests/integ/integ_retention.py
INTEG_CDK := cdk --app "PYTHONPATH=$(CURDIR) $(INTEG_APP)" --output cdk.integ.out
integ-deploy: setup
	export AWS_REGION=$${AWS_REGION:-us-east-1} CDK_DEFAULT_REGION=$${AWS_REGION:-us-east-1}; \
	$(INTEG_CDK) deploy KvsPoolRetentionInteg --require-approval never \
		&& $(INTEG_CDK) deploy --all --require-approval never; \
	status=$$?; \
	$(INTEG_CDK) destroy --all --force; \
	exit $$status

clean:
	rm -rf cdk.out cdk.integ.out .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
