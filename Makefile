# Two commands on a fresh machine:  `make install`  then  `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: install test bench clean

$(PY):
	python3 -m venv $(VENV)

install: $(PY)
	# The pinned CPU build first: an unpinned torch would pull GBs of CUDA wheels.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev]"

test:
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

bench:
	$(PY) bench/eval_speed.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
