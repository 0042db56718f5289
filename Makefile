# The README's commands. Everything a fresh machine needs is installed from here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian packages the tests use: a real OCI registry, git with gpg and ssh signing, Redis
# (the gate's shared cache), chromium (renders the HTML report in its test).
DEBS   := docker-registry git gnupg openssh-client redis-server chromium

.PHONY: demo test lint typecheck unit docs bench bench-scaling bench-gate agreement system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@

demo: $(STAMP)
	$(BIN)/kubeward scan examples/ --fail-on never

system-deps:
	@missing=""; \
	for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) system-deps
	$(BIN)/pytest -n auto -q -p no:cacheprovider

test: $(STAMP) system-deps lint typecheck unit

docs: $(STAMP)
	$(BIN)/python -m kubeward.docs docs/rules

# Byte-compiled first, as an installed package is: with PYTHONDONTWRITEBYTECODE set (some
# shells and CI set it) every run would otherwise recompile ~300 modules (~0.1 s each run).
bench: $(STAMP)
	$(BIN)/python -m compileall -q src
	$(BIN)/python bench/run.py

# How the scan grows along each input axis (N, 2N, 4N, 8N): the "Scaling" table of
# docs/benchmarks.md (a few minutes); `bench/scaling.py --large` adds the big file to ~13 MB.
bench-scaling: $(STAMP)
	$(BIN)/python -m compileall -q src
	$(BIN)/python bench/scaling.py --doc --json bench/scaling-results.json

# The admission gate on loopback: a real registry, the gate over TLS, a bounded load run;
# granian (only for the comparison of cache hits) in .bench-venv/granian.
bench-gate: $(STAMP) system-deps
	test -d .bench-venv/granian || $(BIN)/pip install -q --target .bench-venv/granian granian==2.8.9
	$(BIN)/python bench/gate.py

# The peers, in their own virtualenv, run offline side by side with kubeward.
PEERS  := .peers-venv
$(PEERS)/.installed:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/pip install -q zizmor==1.32.0 checkov==3.3.30
	touch $@

agreement: $(STAMP) $(PEERS)/.installed
	$(BIN)/python -m tests.agreement.make_doc

clean:
	rm -rf $(VENV) $(PEERS) .bench-venv build dist src/*.egg-info
