# bookplan: `make demo` runs the service on the fixture book, `make test` runs every check.
# Both bootstrap uv into .tools/ when it is not on PATH, so a machine with only Python is enough.
SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PY_SOURCES := app solver tests bench

.PHONY: demo test lint typecheck pytest bench sync solve-demo openapi fixtures clean coverage mutants

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

sync: $(UV)
	$(UV) sync --frozen --compile-bytecode

demo: sync
	$(UV) run bookplan demo

solve-demo: sync
	$(UV) run bookplan solve fixtures/demo_book.json -o /tmp/bookplan-demo-plan.json

lint: sync
	$(UV) run ruff check $(PY_SOURCES)
	$(UV) run ruff format --check $(PY_SOURCES)

typecheck: sync
	$(UV) run mypy

pytest: sync
	$(UV) run pytest -q $(PYTEST_ARGS)

test: lint typecheck pytest

# Line coverage of app/ and solver/ across every process the tests start (see [tool.coverage] in
# pyproject.toml); not part of `make test`. Solve children are spawned here, not forked from the fork
# server: coverage starts in a spawned child (and in `bookplan worker` subprocesses), never in the server.
coverage: sync
	rm -f .coverage .coverage.*
	BOOKPLAN_CHILD_START_METHOD=spawn $(UV) run coverage run -m pytest -q $(PYTEST_ARGS)
	$(UV) run coverage combine -q
	$(UV) run coverage report

# Mutation check of the hard rules (bench/mutants.py): slow, so not part of `make test`.
mutants: sync
	$(UV) run python -m bench.mutants $(MUTANTS_ARGS)

bench: sync
	$(UV) run python -m bench.run $(BENCH_ARGS)

fixtures: sync
	$(UV) run python -m bench.make_fixtures

openapi: sync
	$(UV) run bookplan openapi -o openapi/openapi.json

clean:
	rm -rf .tools .venv .mypy_cache .ruff_cache .pytest_cache .coverage .coverage.*
