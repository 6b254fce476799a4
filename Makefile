# Everyday entry points. Only needs Python 3.11+ (with venv) to start; see README.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PYTEST_ARGS ?=
# The dashboard's port: make run PORT=5050.
PORT ?= 5000

# The compiled translation catalogs (the .po files are the source, in git).
CATALOGS := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))

.PHONY: venv venv-dev run lint test clean catalogs extract

venv: $(VENV)/.installed-run
venv-dev: $(VENV)/.installed-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamp files: reinstall only when a requirements file changes.
$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# requirements-dev.txt includes requirements.txt, so this satisfies `venv` too.
$(VENV)/.installed-dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

catalogs: $(CATALOGS)

%.mo: %.po | $(VENV)/.installed-run
	$(BIN)/pybabel compile --statistics -i $< -o $@

# After marking new strings: update the catalogs, then write their Dutch in the .po file.
extract: venv
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l --no-location --sort-output --no-wrap \
		-o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --no-wrap \
		--ignore-obsolete

# Links in the outbox's mails point at this server unless PUBLIC_BASE_URL says otherwise.
run: venv catalogs
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	PUBLIC_BASE_URL="$${PUBLIC_BASE_URL:-http://127.0.0.1:$(PORT)}" \
		$(FLASK) serve --host 127.0.0.1 --port $(PORT)

# Style, then types (mypy, strict, over webapp/), then the import contracts in
# pyproject.toml (layers, area APIs, no cycles).
lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: venv-dev catalogs
	scripts/ensure-system-packages
	$(MAKE) --no-print-directory lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .import_linter_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
