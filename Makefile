# KIM League. `make run` serves the dashboard; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: install run test bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Local mode (no [auth] in .streamlit/secrets.toml) serves this computer only (see `kim serve`);
# the demo goes only into the default data/kim.db, never into a database KIM_DATABASE_URL names.
run: install
	$(PY) -m kim_metrics init
	$(if $(KIM_DATABASE_URL),@echo "KIM_DATABASE_URL is set: not loading the demo into that database.",$(PY) -m kim_metrics demo)
	$(PY) -m kim_metrics serve --port $(PORT)

test: install
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -n 2 --dist loadgroup -q

bench: install
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts
