# The interface to Relay: the README names `make run` and `make test`; the rest are for its developers.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint scan unit bench build openapi clean browsers deploy-web

$(STAMP): pyproject.toml layers/relay/requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## run: the local stack (HTTP API on :3000, WebSocket API on :3001, Cognito on :3002)
run: $(STAMP)
	$(BIN)/relay run

## test: lint, then the whole suite (the browser client's tests in headless Chromium too)
test: lint browsers
	$(BIN)/python -m pytest -n 2 --dist loadgroup

## browsers: Debian's chromium and chromium-driver, installed with apt-get when missing
browsers:
	@tests/browser/install-chromium

lint: $(STAMP) scan
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/relay/relay infra/relay_local functions bench
	$(BIN)/lint-imports --no-logo
	AWS_DEFAULT_REGION=us-east-1 $(BIN)/cfn-lint template.yaml

## scan: checkov over template.yaml; every finding is fixed or skipped in the template with
## its reason. checkov lives in its own venv (.venv-scan): its pins clash with ours.
SCAN_VENV := .venv-scan
CHECKOV_VERSION := 3.3.30
SCAN_STAMP := $(SCAN_VENV)/.checkov-$(CHECKOV_VERSION)

$(SCAN_STAMP):
	rm -rf $(SCAN_VENV)
	$(PYTHON) -m venv $(SCAN_VENV) || python3 -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SCAN_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	@touch $(SCAN_STAMP)

scan: $(SCAN_STAMP)
	$(SCAN_VENV)/bin/checkov --file template.yaml --framework cloudformation --compact --quiet --skip-download

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

## bench: the figures in docs/performance.md
bench: $(STAMP) browsers
	$(BIN)/python -m bench

## openapi: regenerate docs/openapi.json from the handlers
openapi: $(STAMP)
	$(BIN)/relay openapi

## build: sam build without a container; aws-sam-cli lives in its own venv (.venv-sam) because
## its pins clash with our dev dependencies. Needs Python 3.12 (pyenv's 3.12 when pyenv is present).
SAM_VENV := .venv-sam
SAM_VERSION := 1.170.0
SAM_STAMP := $(SAM_VENV)/.sam-$(SAM_VERSION)

build:
	@py312="$$(pyenv prefix 3.12 2>/dev/null | head -n 1)"; \
	if [ -n "$$py312" ] && [ -x "$$py312/bin/python3.12" ]; then PATH="$$py312/bin:$$PATH"; fi; \
	if ! python3.12 -c '' 2>/dev/null; then \
		echo "make build: sam build needs Python 3.12 (the functions' runtime):" \
			"install it with pyenv (pyenv install 3.12) or put python3.12 on PATH" >&2; \
		exit 1; \
	fi; \
	if [ ! -f $(SAM_STAMP) ]; then \
		echo "installing aws-sam-cli $(SAM_VERSION) into $(SAM_VENV)"; \
		rm -rf $(SAM_VENV); \
		{ $(PYTHON) -m venv $(SAM_VENV) 2>/dev/null || python3 -m venv $(SAM_VENV); } && \
		$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip && \
		$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli==$(SAM_VERSION) && \
		touch $(SAM_STAMP) || exit 1; \
	fi; \
	echo "sam build with $$(command -v python3.12) ($$(python3.12 --version))"; \
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build --template template.yaml

## deploy-web: after `sam deploy`, web/ to the stack's bucket and a CloudFront invalidation
## (STACK=relay-prod for another stack; AWS credentials as for sam)
STACK ?= relay-dev
deploy-web: $(STAMP)
	$(BIN)/python -m relay_local.web_deploy --stack-name $(STACK) --web web

clean:
	rm -rf .aws-sam .relay
