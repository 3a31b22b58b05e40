# tnrnn: `make demo` runs the main job, `make test` the tests (lint, docs site, pytest).
# Both create .venv on first use. `make docs` builds the site into site/, `make wheel-check`
# installs the built wheel in a fresh virtualenv and runs tnrnn from outside the checkout.
# `make notebooks-env` adds JupyterLab to the same environment (the checkout stays the editable
# install), `make notebooks` re-executes every notebook at full size.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
SITE ?= site

.PHONY: install demo test lint docs bench wheel-check clean notebooks-env notebooks

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned: a bare `torch` requirement would pull a multi-GB CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test,ray,docs]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/tnrnn compare

test: install
	$(VENV)/bin/ruff check tnrnn tests benchmarks notebooks
	$(VENV)/bin/mkdocs build --strict --quiet --site-dir $(SITE)
	$(PY) -m pytest -q

docs: install
	$(VENV)/bin/mkdocs build --strict --site-dir $(SITE)

lint: install
	$(VENV)/bin/ruff check tnrnn tests benchmarks notebooks

$(VENV)/.notebooks: $(VENV)/.installed
	# -e: the notebook extras join the editable install instead of replacing it with a copy
	$(PY) -m pip install -q -e '.[notebooks]'
	touch $@

notebooks-env: $(VENV)/.notebooks

notebooks: notebooks-env
	$(PY) notebooks/build.py --execute

wheel-check: install
	PYTHON=$(PY) .ci/wheel-check

bench: install
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis $(SITE) dist build
