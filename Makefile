# The interface to Relay: the README names `make run` and `make test`; the rest are for its developers.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint unit bench build openapi clean

$(STAMP): pyproject.toml layers/relay/requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## run: the local stack (HTTP API on :3000, WebSocket API on :3001)
run: $(STAMP)
	$(BIN)/relay run

## test: lint, then the whole suite
test: lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/relay/relay infra/relay_local functions
	AWS_DEFAULT_REGION=us-east-1 $(BIN)/cfn-lint template.yaml

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

## bench: the figures in docs/performance.md
bench: $(STAMP)
	$(BIN)/python -m bench

## openapi: regenerate docs/openapi.json from the handlers
openapi: $(STAMP)
	$(BIN)/relay openapi

## build: sam build, no container (needs python3.12 on PATH; pyenv's is used when present)
build: $(STAMP)
	@$(BIN)/python -m pip install --quiet aws-sam-cli==1.170.0
	PATH="$$(pyenv prefix 3.12 2>/dev/null || true)/bin:$$PATH" $(BIN)/sam build --template template.yaml

clean:
	rm -rf .aws-sam .relay
