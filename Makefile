# The two entry points: `make plan` (the offline plan of the dev stack; `make plan STACK=eks`
# for another) and `make test`.
PYTHON ?= python3
STACK ?= dev

.PHONY: plan test bench clean

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

plan: venv/.installed
	venv/bin/python -m tools.plan --stack $(STACK)

test: venv/.installed venv-scan/.installed
	venv/bin/python -m pytest -q

bench: venv/.installed
	venv/bin/python -m bench

clean:
	rm -rf venv venv-scan .pytest_cache
