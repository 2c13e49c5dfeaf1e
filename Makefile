# Daten für Taten — two commands for a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark
SUPERSET_VENV := .venv-superset
SUPERSET_STAMP := $(SUPERSET_VENV)/.installed
ENGINE ?= duckdb

# No telemetry leaves the machine (dbt, Dagster, Great Expectations).
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export GX_ANALYTICS_ENABLED := False
export DAGSTER_DISABLE_TELEMETRY := 1
export PYTHONPATH := $(CURDIR)
export DAGSTER_HOME := $(CURDIR)/warehouse/dagster_home
# the city profile (cities/<name>/ or a path; default dortmund), also when given as `make run DFT_CITY=...`
ifdef DFT_CITY
export DFT_CITY
endif

.PHONY: run test test-setup ui sample bench chaos clean-warehouse venv system-packages browser spark bi bi-check report docs

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@echo ">> Virtuelle Umgebung $(VENV) wird aus requirements.lock gebaut (pinned dependencies)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

## the Spark engine (docs/spark.md): PySpark and dbt-spark from requirements-spark.lock, Java 17
## from Debian's packages
spark: $(SPARK_STAMP) system-packages
$(SPARK_STAMP): $(STAMP) requirements-spark.lock
	@echo ">> Spark-Engine: PySpark und dbt-spark aus requirements-spark.lock"
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-spark.lock
	@touch $(SPARK_STAMP)

## make run: set-up, sample deliveries if the inbox is empty, the main job end to end (demo key);
## make run ENGINE=spark builds the dbt project with Apache Spark instead of DuckDB
## make run DFT_CITY=berlin: another city profile (cities/<name>/, docs/operations.md); RUN_ARGS e.g.
## "--scale 0.05 --years 2020-2024" for the sample's size
RUN_ARGS ?=
run: $(STAMP) browser $(if $(filter spark,$(ENGINE)),spark)
	umask 077 && DFT_DEMO_MODE=1 DFT_ENGINE=$(ENGINE) $(BIN)/python -m dagster_project.main $(RUN_ARGS)

## Chromium prints the report's PDFs: Debian's package, installed when missing and running as root;
## otherwise a hint (the report is then made without PDFs and says so in the log)
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "$$DFT_CHROMIUM" ] || \
	if [ "$$(id -u)" = 0 ]; then \
		echo ">> Debian-Paket chromium wird installiert (PDF-Fassungen des Berichts; apt-get)"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "HINWEIS: Chromium ließ sich nicht installieren; der Bericht wird ohne PDF erzeugt."; \
	else \
		echo "HINWEIS: Chromium fehlt; der Bericht wird ohne PDF erzeugt ('sudo apt-get install chromium')."; \
	fi

## system packages the tests need, from Debian's packages: a PostgreSQL server (tests of the
## PostgreSQL release), Chromium (the planners' report in a real browser), Java 17 with its compiler
## (the Spark engine; the JDBC client tests/jdbc/ReleaseQuery.java runs as a single-file source
## program) and PostgreSQL's JDBC driver (/usr/share/java/postgresql.jar). Installed when missing and
## running as root, as in CI; otherwise
## `sudo apt-get install postgresql chromium openjdk-17-jdk-headless libpostgresql-jdbc-java` once.
system-packages:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/jvm/java-17-openjdk*/bin/javac >/dev/null 2>&1 || missing="$$missing openjdk-17-jdk-headless"; \
	ls /usr/share/java/postgresql.jar >/dev/null 2>&1 || missing="$$missing libpostgresql-jdbc-java"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo ">> Debian-Pakete werden installiert:$$missing (apt-get)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "HINWEIS: es fehlen$$missing; bitte einmal 'sudo apt-get install$$missing'."; \
		fi; \
	fi

## make test: the test suite on three processes (CI calls this through .ci/run; on two cores three
## keep both busy); the tests of the one shared released warehouse stay in one process, the longest
## units start first (tests/conftest.py); Apache Superset's own venv for tests/test_superset.py.
## DFT_TEST_TIMELINE=<file> writes when each test ran on which process
TEST_WORKERS ?= 3
test:
	@$(MAKE) --no-print-directory -j3 test-setup
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --durations=25

## what the tests need, side by side (pip uses one core; Superset's venv is independent of .venv)
test-setup: $(STAMP) $(SPARK_STAMP) $(SUPERSET_STAMP) system-packages

## make docs: the generated parts of docs/ made anew; the dbt documentation site, offline, on
## http://127.0.0.1:8080 (DOCS_ARGS=--no-serve only writes it)
docs: $(STAMP)
	umask 077 && $(BIN)/python -m dagster_project.dbt_docs $(DOCS_ARGS)

## make ui: the Dagster UI on http://127.0.0.1:3000, with its daemon: the inbox sensor and the
## schedules are running from the start
ui: $(STAMP)
	umask 077 && DFT_DEMO_MODE=1 $(BIN)/python -m dagster_project.instance
	umask 077 && DFT_DEMO_MODE=1 $(BIN)/dagster dev -h 127.0.0.1 -p 3000 -m dagster_project.definitions

## make report: the planners' report (Bericht zur sozialen Lage) of the current release, if not up to date
report: $(STAMP) browser
	umask 077 && $(BIN)/python -m dagster_project.report

## make bi: the connection settings for BI tools (docs/bi.md), with this installation's paths
bi: $(STAMP)
	@$(BIN)/python -m dagster_project.bi

## make bi-check: Apache Superset, in its own virtual environment .venv-superset (from
## requirements-superset.lock), adds the PostgreSQL publication of the current release as a database,
## the dataset release.fct_indicator_values and runs a chart query (tests/bi_check.py, docs/bi.md);
## needs a current release (`make run`)
bi-check: $(STAMP) system-packages $(SUPERSET_STAMP)
	$(BIN)/python -m tests.bi_check

$(SUPERSET_STAMP): requirements-superset.lock
	@echo ">> Virtuelle Umgebung $(SUPERSET_VENV) für Apache Superset wird aus requirements-superset.lock gebaut"
	rm -rf $(SUPERSET_VENV)
	$(PYTHON) -m venv $(SUPERSET_VENV)
	$(SUPERSET_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-superset.lock
	@touch $(SUPERSET_STAMP)

## make sample: (re)write the sample deliveries into warehouse/inbox (Dortmund scale, 2014-2024)
sample: $(STAMP)
	$(BIN)/python -m sample_deliveries --out warehouse/inbox

## make bench: stage times and peak memory, floor and pandas peer, a new month, the dbt build on
## Spark beside DuckDB's (warehouse/bench/)
BENCH_ARGS ?= --config 1:2014-2024:3 --config 10:2023-2024:2 --engines duckdb,spark
bench: $(STAMP) $(SPARK_STAMP) system-packages
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

## make chaos: the main job killed with kill -9 at 50 random moments (ingest, dbt, gate, release,
## report), each followed by a run that must complete and equal an uninterrupted one; a new seed
## each time, printed (CHAOS_ARGS="--kills 5 --seed N" repeats one); about three minutes a kill.
## Then the daemon path once: a run the inbox sensor started is killed with the daemon, the
## restarted daemon must complete it
CHAOS_ARGS ?= --kills 50 --daemon
chaos: $(STAMP) system-packages
	$(BIN)/python -m tests.crash_harness $(CHAOS_ARGS)

clean-warehouse:
	rm -rf warehouse/inbox warehouse/*.duckdb* warehouse/raw warehouse/quarantine warehouse/dagster_home \
		warehouse/release warehouse/reports warehouse/bench warehouse/dbt_docs warehouse/dbt_target
