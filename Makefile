# Two entry points of the README quick start. Both create .venv and install torch 2.13.0 first:
# that exact pin is the CPU wheel on this machine's disk, so no CUDA build is ever pulled.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,onnx,ray]'
	touch $(STAMP)

setup: $(STAMP)

search: $(STAMP)
	$(BIN)/archfit search

test: $(STAMP)
	OMP_NUM_THREADS=2 $(BIN)/python -m pytest

.PHONY: setup search test
