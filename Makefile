# Every target creates the virtual environment first, so a fresh clone needs
# nothing but `make demo` or `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNNER ?= DirectRunner
MUSDB ?= data/musdb18hq
DATA ?= data/dataset
BEAM_ARGS ?=
MODEL ?= data/model
TRAIN_ARGS ?=

.PHONY: install test lint dataset inspect synth train clean

$(BIN)/vocals2song: setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[dev]'
	touch $@

install: $(BIN)/vocals2song

test: install
	$(BIN)/python -m pytest -q tests

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

synth: install
	$(BIN)/vocals2song synth-musdb $(MUSDB) --tracks 12 --seconds 30

dataset: install
	$(BIN)/vocals2song dataset --musdb_root $(MUSDB) --output_dir $(DATA) --runner $(RUNNER) $(BEAM_ARGS)

inspect: install
	$(BIN)/vocals2song inspect $(DATA)

train: install
	$(BIN)/vocals2song train --data_dir $(DATA) --model_dir $(MODEL) $(TRAIN_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
