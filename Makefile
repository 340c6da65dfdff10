# Set-up and everyday commands. Each target creates .venv if missing, installs torch (CPU, pinned)
# first and then the project, and is idempotent (re-running installs nothing new).
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.brandpulse-installed

.PHONY: demo test lint install model clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

model: $(STAMP)
	$(VENV)/bin/brandpulse model install

demo: $(STAMP)
	$(VENV)/bin/brandpulse demo

test: $(STAMP) model
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy brandpulse listener sentiment alerts advocates dashboard
	$(VENV)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy brandpulse listener sentiment alerts advocates dashboard

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache brandpulse-demo.db*
