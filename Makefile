# Every target runs with the project's Node (Node 24 from the npm registry when the system one is older
# than 22.22; see scripts/ensure-node.sh) and installs what it needs first.
SHELL := /bin/bash
NODE_BIN := $(shell scripts/ensure-node.sh)
export PATH := $(NODE_BIN):$(PATH)

.PHONY: setup system-deps up test lint typecheck bench clean

setup: node_modules/.installed system-deps

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Debian's redis-server (the embedded default spawns it; the tests spawn their own).
system-deps:
	@if ! command -v redis-server >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing redis-server from Debian"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else \
	    echo "redis-server is missing: install it (sudo apt-get install redis-server) or set REDIS_URL"; exit 1; \
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
