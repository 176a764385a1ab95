# kmvolunteer — `make run` serves the demo city; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTANCE := instance
# make run PORT=8080 HOST=0.0.0.0
PORT ?= 8000
HOST ?= 127.0.0.1
export FLASK_APP := app

.PHONY: run worker test install install-dev translations browser messages bench loadtest clean lock lint

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The locks pin every package, transitive ones too; requirements*.txt list what we depend on directly.
$(VENV)/.installed: requirements.lock $(BIN)/activate
	$(BIN)/pip install -q -r requirements.lock
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.lock
	touch $@

## lock: pin requirements.txt and requirements-dev.txt (and what they need) into the .lock files.
lock: $(BIN)/activate
	$(BIN)/pip install -q pip-tools==7.6.2
	$(BIN)/pip-compile -q --strip-extras --no-header --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements.lock requirements.txt
	$(BIN)/pip-compile -q --strip-extras --no-header --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements-dev.lock requirements-dev.txt

## lint: ruff's checks and its formatting, as CI runs them.
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

install: $(VENV)/.installed translations
install-dev: $(VENV)/.installed-dev translations

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d kmvolunteer/translations

## run: install, back up and migrate the embedded SQLite database, load the demo city if empty, then serve
## and run the background worker beside the web server (Ctrl-C stops both).
run: install
	mkdir -p $(INSTANCE)
	$(BIN)/python -c "from kmvolunteer.config import load_secret_key; load_secret_key()"
	$(BIN)/flask backup --if-migrations-pending
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --if-empty
	@echo ""
	@echo "  kmvolunteer is running at http://$(HOST):$(PORT)  (demo password: demo2026)"
	@echo ""
	@trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; trap 'exit 130' INT TERM; \
	$(BIN)/flask jobs worker & worker=$$!; \
	$(BIN)/gunicorn --bind $(HOST):$(PORT) --workers 2 --threads 4 --access-logfile - app:app

## worker: the background worker alone (a host of its own; REDIS_URL shares the queue between hosts).
worker: install
	$(BIN)/flask jobs worker

## browser: Debian's Chromium and CJK fonts for the browser tests (they are mandatory).
browser:
	@if [ ! -x /usr/bin/chromium ] || ! command -v pdftotext >/dev/null || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk poppler-utils >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk poppler-utils >/dev/null; fi; \
	fi

## test: the whole suite (DATABASE_URL selects the engine; SQLite by default).
test: install-dev browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: city-scale timings (seeds bench/city.db the first time: a few minutes); writes bench/results.json.
## Another size: make bench MEMBERS=5000 (and COMMUNITIES=, BRANCHES=); USERS= members and secretaries in turn.
BENCH_SIZES = $(if $(COMMUNITIES),--communities $(COMMUNITIES)) $(if $(BRANCHES),--branches $(BRANCHES)) \
	$(if $(MEMBERS),--members $(MEMBERS)) $(if $(USERS),--users $(USERS))
bench: install-dev
	@command -v wrk >/dev/null || { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; else sudo apt-get install -y -qq wrk >/dev/null; fi; }
	$(BIN)/python -m bench.run $(BENCH_SIZES) $(BENCH_ARGS)

## loadtest: 50 users for 60 s against gunicorn on SQLite and PostgreSQL, with a killed worker and a restart
loadtest: install-dev
	$(BIN)/python -m loadtest.run $(LOADTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache

## messages: extract new UI strings and merge them into the catalogues (then translate them).
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l --ignore-dirs '.*' -o kmvolunteer/translations/messages.pot --sort-output --omit-header .
	$(BIN)/pybabel update -i kmvolunteer/translations/messages.pot -d kmvolunteer/translations --no-fuzzy-matching
