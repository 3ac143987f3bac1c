# Set-up is code: every target installs what it needs into .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: up down test lint unit bench clean

$(STAMP): requirements.txt
	$(PYTHON) -c 'import sys; sys.exit("webstack needs Python 3.11+") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

## up: start the embedded emulator, deploy the whole stack to it, publish the demo SPA and print
## the stack's endpoints.
up: $(STAMP)
	$(BIN)/python runner.py emulator start
	$(BIN)/python runner.py deploy --env local > /dev/null
	$(BIN)/python runner.py publish --env local > /dev/null
	$(BIN)/python runner.py outputs --env local > /dev/null

## down: destroy the local stack and stop the embedded emulator.
down: $(STAMP)
	-$(BIN)/python runner.py destroy --env local
	$(BIN)/python runner.py emulator stop

## test: the whole suite — ruff, ansible-lint (production profile), then unit, integration
## and molecule tests in pytest, each against a moto server the test run starts itself.
test: lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/ansible-lint

unit: $(STAMP)
	$(BIN)/pytest tests/unit

bench: $(STAMP)
	$(BIN)/python benchmarks/deploy_time.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.tar.gz
