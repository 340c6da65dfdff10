# Set-up and everyday commands. Each target creates .venv if missing, installs torch (CPU, pinned)
# first and then the project at the versions in requirements.lock (scripts/lock.sh regenerates it), and is idempotent (re-running installs nothing new).
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.brandpulse-installed

.PHONY: demo test lint install model audit lock clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml requirements.lock | $(PY)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c requirements.lock -e ".[dev]"
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

audit: $(STAMP)
	PY=$(PY) bash scripts/audit.sh

lock:
	bash scripts/lock.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache brandpulse-demo.db*
