# glmtray: `make run` starts the app, `make test` runs every test. Both create .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test test-core test-desktop test-realtools lint bench soak package clean catalogs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# Byte-compile now: a first run otherwise pays it inside timing-sensitive tests.
	$(BIN)/python -m compileall -q -x '/deploy_lib/' app $(VENV)/lib > /dev/null
	touch $(STAMP)

# Translation catalogs: the .po sources compiled to the .mo files gettext reads (never
# committed). After changing marked strings: $(BIN)/python -m glmtray.catalogs update
CATALOG_SOURCES := $(wildcard app/glmtray/locale/*/LC_MESSAGES/glmtray.po)
CATALOGS := $(CATALOG_SOURCES:.po=.mo)
$(CATALOGS): %.mo: %.po $(STAMP)
	$(BIN)/python -m glmtray.catalogs compile

catalogs: $(CATALOGS)

run: $(STAMP) $(CATALOGS)
	$(BIN)/glmtray

demo: $(STAMP) $(CATALOGS)
	$(BIN)/glmtray --demo

# Every tier: lint and types, core and offscreen Qt tests, then the real-desktop tier with
# both kinds of tray host (each in a throwaway Xvfb + D-Bus + keyring session). The
# StatusNotifierItem host draws on a black bar and runs on a 1366x768 laptop-sized screen.
# A third session is Chinese throughout (LANGUAGE=zh_CN; .ci/run installs a CJK font): the
# menu, panel, settings and a notification in zh-*.png under artifacts/desktop/.
test: $(STAMP) lint test-core test-desktop

test-core: $(STAMP) $(CATALOGS)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest --ignore=tests/desktop

# The real Claude Code CLI against glmtray (tests/realtools, also run by test-core): the
# pinned version is installed from npm into .ci/cache first. Without it test-core skips the
# tier on a developer machine and fails with CI=true.
test-realtools: $(STAMP) $(CATALOGS)
	bash tests/realtools/install-claude-code.sh
	$(BIN)/python -m pytest tests/realtools

# Without Xvfb and D-Bus (a developer's macOS, say) the tier is skipped with a message
# saying what is missing; with CI=true it fails instead.
test-desktop: $(STAMP) $(CATALOGS)
	@if [ -n "$$GLMTRAY_DESKTOP" ]; then \
		$(BIN)/python -m pytest tests/desktop; \
	elif command -v Xvfb >/dev/null && command -v dbus-run-session >/dev/null; then \
		GLMTRAY_TRAY_HOST=trayer bash .ci/desktop-session $(BIN)/python -m pytest tests/desktop && \
		GLMTRAY_TRAY_HOST=sni GLMTRAY_SCREEN=1366x768 bash .ci/desktop-session $(BIN)/python -m pytest tests/desktop && \
		LANGUAGE=zh_CN LANG=zh_CN.UTF-8 GLMTRAY_TRAY_HOST=trayer bash .ci/desktop-session $(BIN)/python -m pytest tests/desktop/test_chinese.py; \
	else \
		$(BIN)/python -m pytest tests/desktop; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check app tests bench packaging tools
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_status.py
	$(BIN)/python bench/bench_transcripts.py
	$(BIN)/python bench/bench_meter.py
	$(BIN)/python bench/bench_statusline.py
	$(BIN)/python bench/bench_history_store.py
	$(BIN)/python bench/bench_history_window.py
	$(BIN)/python bench/bench_chart_libraries.py
	bash .ci/desktop-session $(BIN)/python bench/bench_tray.py

# Seven minutes of the real app and its meter under load while the simulator flips scenarios
# and faults, proxies come and go, the event database is locked and the app is killed; the
# desktop tier runs the same soak for 30 s. Figures in artifacts/desktop/soak-figures.json.
SOAK_SECONDS ?= 420
soak: $(STAMP)
	GLMTRAY_SOAK_SECONDS=$(SOAK_SECONDS) GLMTRAY_TRAY_HOST=trayer bash .ci/desktop-session \
		$(BIN)/python -m pytest tests/desktop/test_soak.py -s -p no:cacheprovider --timeout 900

PACKAGE_STAMP := $(VENV)/.installed-package
$(PACKAGE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,package]'
	touch $(PACKAGE_STAMP)

# One-folder PyInstaller bundle in dist/glmtray and, where dpkg-deb exists, the Debian package
# dist/glmtray_<version>_<arch>.deb made from it; then a real start of the bundle under Xvfb
# with a tray. CI also installs the .deb (packaging/linux/test-deb.sh, as root).
package: $(PACKAGE_STAMP)
	PYTHON=$(BIN)/python bash packaging/build.sh
	bash packaging/smoke.sh dist/glmtray

clean:
	rm -rf $(VENV) build dist artifacts .pytest_cache .mypy_cache .ruff_cache
