# The entry points: `make plan` (the offline plan of the dev stack; `make plan STACK=eks` for
# another), and `make test` (the unit suite, then the e2e suite against a local cluster; the
# toolchain is built on first use).
PYTHON ?= python3
STACK ?= dev

.PHONY: plan test unit e2e toolchain bench charts clean

venv/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv venv
	venv/bin/pip install --quiet --upgrade pip
	venv/bin/pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

venv-scan/.installed: requirements-scan.txt
	$(PYTHON) -m venv venv-scan
	venv-scan/bin/pip install --quiet --upgrade pip
	venv-scan/bin/pip install --quiet -r requirements-scan.txt
	touch $@

# The JavaScript solc and the OpenZeppelin sources that tests/provider/test_payment_contract.py
# compiles trusted-pods' Payment.sol with, from the lock file (no compiler download at run time).
SOLC_DIR = tests/provider/solc
$(SOLC_DIR)/node_modules/.package-lock.json: $(SOLC_DIR)/package.json $(SOLC_DIR)/package-lock.json
	cd $(SOLC_DIR) && npm ci --no-audit --no-fund --silent

plan: venv/.installed
	venv/bin/python -m tools.plan --stack $(STACK)

# Builds the Pulumi CLI, language host, kubernetes provider, control plane and kwok into
# ~/.cache/pegasus-e2e (cold: see the README; warm: seconds, nothing built).
toolchain:
	bash e2e/toolchain/build.sh >/dev/null

test: venv/.installed venv-scan/.installed $(SOLC_DIR)/node_modules/.package-lock.json toolchain
	venv/bin/python -m pytest -q

unit: venv/.installed venv-scan/.installed $(SOLC_DIR)/node_modules/.package-lock.json
	venv/bin/python -m pytest -q -m "not e2e"

e2e: venv/.installed toolchain
	venv/bin/python -m pytest -q -m e2e

# Pulls the pinned chart archives in charts/ again from their repositories (needs helm and a network).
charts:
	bash charts/refresh.sh

bench: venv/.installed
	venv/bin/python -m bench

clean:
	rm -rf venv venv-scan .pytest_cache $(SOLC_DIR)/node_modules
