# Every target runs with the project's Node (Node 24 from the npm registry when the system one is older
# than 22.22; see scripts/ensure-node.sh) and installs what it needs first.
SHELL := /bin/bash
NODE_BIN := $(shell scripts/ensure-node.sh)
export PATH := $(NODE_BIN):$(PATH)

.PHONY: setup system-deps up test lint typecheck bench clean

setup: node_modules/.installed system-deps

# npm 11's `npm ci` refuses this lock ("Missing: @lancedb/lancedb-darwin-arm64@"): an `overrides` entry plus
# platform-only optional packages trip its sync check, while `npm install` finds the same lock complete and
# installs exactly the locked versions without changing it. So: ci, and on that refusal, install.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=silent || { echo 'npm ci refused the lock (see above); npm install from it'; npm install --no-audit --no-fund --loglevel=error; }
	@touch $@

# Debian packages the system and its tests need: redis-server (the embedded default spawns it; the tests
# spawn their own), chromium (Bull Board tests through playwright-core), prometheus (promtool checks and the
# scrape test). Installed when missing and root; otherwise a clear message and a failure.
SYSTEM_DEPS := redis-server:redis-server chromium:chromium prometheus:prometheus promtool:prometheus
system-deps:
	@missing=""; \
	for dep in $(SYSTEM_DEPS); do \
	  command -v "$${dep%%:*}" >/dev/null 2>&1 || missing="$$missing $${dep##*:}"; \
	done; \
	missing=$$(printf '%s\n' $$missing | sort -u | xargs); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing from Debian: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages: $$missing — install them (sudo apt-get install $$missing)"; exit 1; \
	  fi; \
	fi

up: setup
	scripts/ingestctl up $(ARGS)

test: setup
	npm test

lint: node_modules/.installed
	npm run lint

typecheck: node_modules/.installed
	npm run typecheck

bench: setup
	npm run bench

clean:
	rm -rf data reports/tests reports/ingest reports/bench
