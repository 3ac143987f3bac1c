# Set-up is code: every target installs what it needs into .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# ansible-lint runs ansible-playbook --syntax-check: the virtualenv's, activated or not.
ANSIBLE_LINT = PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/ansible-lint

.PHONY: up down test lint ruff unit bench clean graphviz

# Where PYTHONDONTWRITEBYTECODE is set (as on the machine this was measured on), Python never caches what it
# compiles, so every process would compile ansible, botocore and moto again: the install compiles
# them. compileall uses every core (pip compiles one file at a time) and leaves out the ansible
# package's collections that webstack does not use (amazon.aws and community.aws are compiled).
$(STAMP): requirements.txt
	$(PYTHON) -c 'import sys; sys.exit("webstack needs Python 3.11+") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -r requirements.txt
	$(BIN)/python -m compileall -q -j 0 -x 'site-packages/ansible_collections/(?!amazon/aws/|community/aws/)' $(VENV)/lib
	@$(MAKE) --no-print-directory graphviz
	touch $(STAMP)

## graphviz: Graphviz's `dot`, which `runner.py outputs --diagram` draws with (the `diagrams`
## library calls it): Debian's package, when dot is missing and apt-get may install it (as root, or
## through sudo without a password); elsewhere a note says what to install.
APT_GET := env DEBIAN_FRONTEND=noninteractive apt-get -qq -y --no-install-recommends
graphviz:
	@command -v dot > /dev/null && exit 0; \
	if command -v apt-get > /dev/null && { [ "$$(id -u)" = 0 ] || sudo -n true 2> /dev/null; }; then \
	  as_root=$$([ "$$(id -u)" = 0 ] || echo sudo -n); \
	  echo "webstack: installing Graphviz (Debian's graphviz package) for outputs --diagram"; \
	  $$as_root $(APT_GET) install graphviz > /dev/null 2>&1 \
	    || { $$as_root $(APT_GET) update > /dev/null && $$as_root $(APT_GET) install graphviz > /dev/null; }; \
	else \
	  echo "webstack: Graphviz's dot is missing: install graphviz (apt-get, dnf or brew install graphviz)" \
	    "for runner.py outputs --diagram" >&2; \
	fi

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

## test: the whole suite — ruff, then ansible-lint (production profile) beside the unit,
## integration and molecule tests in pytest, each against a moto server the test run starts itself.
## ansible-lint runs while pytest's workers wait on the emulator (its report follows pytest's);
## the target fails when either does.
test: $(STAMP) ruff
	@$(ANSIBLE_LINT) > $(VENV)/ansible-lint.log 2>&1 & linting=$$!; \
	$(BIN)/pytest; tested=$$?; \
	wait $$linting; linted=$$?; \
	echo "ansible-lint (production profile), run beside pytest:"; cat $(VENV)/ansible-lint.log; \
	[ $$tested = 0 ] && [ $$linted = 0 ]

lint: ruff
	$(ANSIBLE_LINT)

ruff: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(STAMP)
	$(BIN)/pytest tests/unit

## bench: every benchmark, each printing its figures as ratios to a reference measured in the same run.
bench: $(STAMP)
	$(BIN)/python benchmarks/deploy_time.py
	$(BIN)/python benchmarks/publish_time.py
	$(BIN)/python benchmarks/real_aws_time.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info *.tar.gz
