# glmtray: `make run` starts the app, `make test` runs every test. Both create .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test test-core test-desktop lint bench package clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/glmtray

demo: $(STAMP)
	$(BIN)/glmtray --demo

# Every tier: core and offscreen Qt tests, lint and types, then the real-desktop tier
# (under .ci/desktop-session when no desktop session is running).
test: $(STAMP) lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -m "not desktop"
	$(MAKE) test-desktop

test-core: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -m "not desktop"

test-desktop: $(STAMP)
	@if [ -n "$$GLMTRAY_DESKTOP" ]; then \
		$(BIN)/python -m pytest -m desktop tests/desktop; \
	elif command -v Xvfb >/dev/null && command -v dbus-run-session >/dev/null; then \
		bash .ci/desktop-session $(BIN)/python -m pytest -m desktop tests/desktop; \
	else \
		$(BIN)/python -m pytest -m desktop tests/desktop; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check app tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_status.py

clean:
	rm -rf $(VENV) build dist artifacts .pytest_cache .mypy_cache .ruff_cache
