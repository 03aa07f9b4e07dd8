# One-command dev loop. `make run` and `make test` set everything up themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= feeds.yaml
DB     ?= db/monitor.db

.PHONY: run test lint format poll browse demo bench train clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

db:
	mkdir -p db

run: $(STAMP) db
	$(BIN)/policy-monitor --config $(CONFIG) --db $(DB) run

test: $(STAMP) db
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

poll: $(STAMP) db
	$(BIN)/policy-monitor --config $(CONFIG) --db $(DB) poll

browse: $(STAMP) db
	$(BIN)/policy-monitor --config $(CONFIG) --db $(DB) browse

demo: $(STAMP) db
	$(BIN)/python -m monitor.demo

# Learn the extraction's weights from the training corpora (never the locked test split).
train: $(STAMP)
	$(BIN)/policy-monitor train

bench: $(STAMP)
	$(BIN)/python bench/poll.py
	$(BIN)/python bench/extract.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
