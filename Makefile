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

run: install
	$(PY) -m kim_metrics init
	$(PY) -m kim_metrics demo
	$(VENV)/bin/streamlit run dashboard.py --server.port $(PORT) --server.headless true \
		--server.maxUploadSize $$($(PY) -m kim_metrics.settings upload-mb)

test: install
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -n 2 --dist loadgroup -q

bench: install
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts
