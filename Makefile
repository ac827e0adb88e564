# Two commands do all the set-up on a fresh Debian machine with Python 3.11:
#   make demo   creates the venv, installs, crawls the embedded local cited web into ./archive
#   make test   creates the venv, installs, runs ruff, lint-imports, mypy and pytest
#               (pytest in a network namespace with only loopback: tests/netns.py)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# pywb, which tests/test_cdxj.py runs on the indexes we write, in a venv of its own:
# it pins redis 2.10, which scrapy-redis cannot use.
PYWB_VENV := .venv-pywb
PYWB_STAMP := $(PYWB_VENV)/.installed-stamp

.PHONY: venv pywb demo demo-import test test-fast lint typecheck bench clean services browser

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
		echo "python venv support missing: installing python3-venv with apt"; \
		apt-get update -qq && apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

pywb: $(PYWB_STAMP)

$(PYWB_STAMP): tests/pywb/requirements.txt $(STAMP)
	$(PYTHON) -m venv $(PYWB_VENV)
	$(PYWB_VENV)/bin/pip install --quiet -r tests/pywb/requirements.txt
	touch $(PYWB_STAMP)

services:
	bash tests/services.sh

# Debian's chromium, unshare and fonts for screenshots: what browser capture needs.
browser:
	bash tests/services.sh browser

demo: venv browser
	$(BIN)/scrubwatch demo --store ./archive

# The photo gone before the first crawl: a local pywb holds version 1 of the cited web,
# version 2 is crawled live, and `scrubwatch import` brings the earlier capture back.
demo-import: venv pywb
	$(BIN)/scrubwatch demo --import --store ./archive-import --pywb $(PYWB_VENV)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: venv
	$(BIN)/mypy

# The suite runs in a network namespace of its own with only loopback (tests/netns.py):
# a request that would leave the machine fails at once instead.
test: venv pywb services lint typecheck
	$(BIN)/python tests/netns.py

# A developer's loop: everything but the end-to-end runs marked slow.
test-fast: venv pywb services lint typecheck
	$(BIN)/python tests/netns.py -m "not slow"

bench: venv
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(PYWB_VENV) archive .pytest_cache .mypy_cache .ruff_cache
