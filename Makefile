# Two commands on a fresh clone: `make demo` and `make test`. Each target installs what it
# needs (.venv from pyproject.toml, node_modules from package-lock.json) when missing.
PY := .venv/bin/python
VENV_STAMP := .venv/.installed
NODE_STAMP := node_modules/.installed

.PHONY: demo test test-python test-pg test-contracts test-js lint serve serve-pg setup clean fuzz browser postgresql

setup: $(VENV_STAMP) $(NODE_STAMP) browser postgresql

# The browser tests drive Debian's chromium (never a downloaded browser), with CJK fonts so
# that Chinese pages render: installed from Debian when missing.
browser:
	@command -v chromium >/dev/null 2>&1 && dpkg -s fonts-noto-cjk >/dev/null 2>&1 || { \
		echo "== installing Debian's chromium and CJK fonts for the browser tests"; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium fonts-noto-cjk; }

# The storage tests run on SQLite and on PostgreSQL: they start a throwaway cluster of
# Debian's PostgreSQL server (initdb / pg_ctl), installed from Debian when missing.
postgresql:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "== installing Debian's PostgreSQL for the storage tests"; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; }

$(VENV_STAMP): pyproject.toml
	@echo "== installing the Python packages of pyproject.toml into .venv (a minute or two)"
	python3 -m venv .venv
	.venv/bin/pip install --quiet --upgrade pip
	.venv/bin/pip install --quiet -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	@echo "== installing Hardhat, solc and the verifier's npm packages (package-lock.json)"
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Part 1 drives the registry from the CLI (ledger, MRV simulation, anchoring, the token
# bridge, tamper detection); part 2 runs `serve` and the lifecycle over HTTP, then keeps
# serving until Ctrl-C when run from a terminal.
demo: setup
	bash scripts/demo.sh
	$(PY) scripts/api_demo.py $$([ -t 0 ] || echo --no-wait)

lint: $(VENV_STAMP)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy registry anchoring api carbon_registry bridge verifier/carbon_verifier
	.venv/bin/lint-imports

test: setup lint test-contracts test-js test-python

# Longer schemathesis runs than `make test` (which keeps 8 cases an operation): every
# operation with and without the operator key, and sequences along the OpenAPI links.
fuzz: $(VENV_STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} FUZZ_STATEFUL_SEQUENCES=$${FUZZ_STATEFUL_SEQUENCES:-200} \
		.venv/bin/pytest -p no:cacheprovider tests/test_api_openapi.py

# Contract tests under Hardhat; they read the Merkle vectors the Python side generated.
test-contracts: $(NODE_STAMP)
	npx hardhat test

# The JavaScript light verifier (verifier-js) under node --test, on the same bundle vectors.
test-js: $(NODE_STAMP) browser
	npm test --workspace verifier-js

# Two workers: the suite is mostly single-threaded Python and the machines have 2 cores.
test-python: $(VENV_STAMP) $(NODE_STAMP) browser postgresql
	$(PY) -m pytest -n 2

# Every test that opens its registry through the `world` or `store_url` fixtures, on
# PostgreSQL (`make test` runs a representative set there: the modules marked both_backends).
test-pg: $(VENV_STAMP) $(NODE_STAMP) browser postgresql
	CARBON_TEST_ALL_BACKENDS=1 $(PY) -m pytest -n 2 -k postgresql

serve: setup
	.venv/bin/carbon-registry serve

# The same service on a local PostgreSQL cluster kept in .pg/ (docs/postgresql.md).
serve-pg: setup
	$(PY) scripts/serve_pg.py

clean:
	rm -rf .venv node_modules .hardhat .demo .pg .pytest_cache .mypy_cache .ruff_cache
