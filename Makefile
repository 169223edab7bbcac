# README's two commands: `make demo` runs the whole system on the embedded
# broker; `make test` installs what the tests need and runs them all.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/riskwatch demo

test: install
	deploy/install-test-services.sh
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache riskwatch-data
