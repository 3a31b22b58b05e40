# tnrnn: `make demo` runs the main job, `make test` the tests. Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: install demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned: a bare `torch` requirement would pull a multi-GB CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test,ray]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/tnrnn demo

test: install
	$(VENV)/bin/ruff check tnrnn tests benchmarks notebooks
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check tnrnn tests benchmarks notebooks

bench: install
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
