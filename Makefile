# pressure_forecast: `make help` lists the targets.
# Everything a fresh machine needs is installed by these targets (cargo, a Python virtual environment).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
CARGO ?= cargo
# The extension is built in its own target dir: maturin and cargo build pyo3 with different settings.
MATURIN_TARGET := target/maturin
export CARGO_TERM_COLOR ?= never

.PHONY: help run forecasts test test-rust postgres test-python venv develop stubs bench lint fmt clean model fuzz soak gallery

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

run: ## the main job: the gRPC service on its embedded store, seeded with the example cases
	$(CARGO) build --release -p pf-cli
	./target/release/pressure-forecast serve --seed-examples

forecasts: ## print the forecasts of the example cases
	$(CARGO) build --release -p pf-cli
	@for c in data/cases/*.json; do ./target/release/pressure-forecast forecast --case $$c; echo; done

test: lint test-rust test-python ## every check: lint first, then the Rust and Python tests

# PostgreSQL for the store tests: the distribution's package, installed when it is missing and we are root. The
# tests themselves start a throw-away cluster per test binary in a temporary directory, as the postgres user, on a
# free port, and remove it afterwards (crates/pf-server/tests/common/backend.rs); without a server they skip the
# PostgreSQL tests loudly, and under CI=true that is a failure.
postgres: ## install PostgreSQL for the store tests when missing (distribution package, as root)
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql || \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; }; \
	elif [ "$${CI:-}" = true ]; then echo "PostgreSQL is missing and cannot be installed here (not root or no apt-get)" >&2; exit 1; \
	else echo "WARNING: PostgreSQL is missing and cannot be installed here: the PostgreSQL tests will be SKIPPED" >&2; fi

test-rust: postgres ## Rust unit, property and integration tests (SQLite and PostgreSQL stores), doctests, and every benchmark run once (test mode)
	$(CARGO) test --workspace --exclude pf-python --all-targets
	$(CARGO) test --workspace --exclude pf-python --doc

$(VENV)/.deps: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.deps ## create the virtual environment with the Python dependencies

develop: venv ## build the extension into the virtual environment (maturin develop)
	CARGO_TARGET_DIR=$(MATURIN_TARGET) $(VENV)/bin/maturin develop --release --quiet

stubs: ## regenerate python/pressure_forecast/_native.pyi from the Rust definitions (pyo3-stub-gen)
	$(CARGO) run -q -p pf-python --bin stub_gen

test-python: develop ## pytest: tests/ and the package's doctests (hmmlearn/numpy references, gRPC client, notebook)
	$(VENV)/bin/python -m pytest -q

bench: develop ## criterion benchmarks and the scripted comparisons (each against a baseline in the same run)
	$(CARGO) bench -p pf-core -p pf-events
	$(VPY) scripts/bench_ingest.py
	$(VPY) scripts/bench_python.py
	$(VPY) scripts/bench_dask.py --max-iterations 1
	bash scripts/bench_grpc.sh
	bash scripts/bench_secure.sh
	bash scripts/bench_pg.sh

lint: venv ## rustfmt, clippy, ruff (check and format) and mypy strict on the Python package and its tests, buf lint on the proto (buf from npm, pinned in package.json)
	npm ci --silent --no-audit --no-fund && (cd proto && ../node_modules/.bin/buf lint)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/ruff check python tests
	$(VENV)/bin/ruff format --check python tests
	$(VENV)/bin/mypy

fmt: venv ## format the Rust and Python code
	$(CARGO) fmt --all
	$(VENV)/bin/ruff format python tests

clean: ## remove build outputs and the virtual environment
	rm -rf target $(VENV)

# The shipped fitted v2 model, rebuilt from the repository's data (docs/learning.md): curated episodes weigh 1,
# TIES-derived term episodes 0.2 (sparse, rule-labelled signals; 874 of them would otherwise swamp the 33
# curated ones).
MODEL_CURATED_WEIGHT ?= 1.0
MODEL_TIES_WEIGHT ?= 0.2
model: ## the shipped default model: fit the priors of models/maximum_pressure_v2.toml on data/episodes into models/maximum_pressure.toml
	$(CARGO) build --release -p pf-cli
	./target/release/pressure-forecast fit --model models/maximum_pressure_v2.toml \
		--episodes data/episodes/episodes.json --episodes-weight $(MODEL_CURATED_WEIGHT) \
		--episodes data/episodes/ties_terms.jsonl --episodes-weight $(MODEL_TIES_WEIGHT) \
		--output models/maximum_pressure.toml

fuzz: ## fuzz every RPC's decode-and-handle path for long (PF_FUZZ_CASES per method, default 20000)
	PF_FUZZ_CASES=$${PF_FUZZ_CASES:-20000} $(CARGO) test --release -p pf-server --test fuzz -- --nocapture

soak: ## mixed load with kill -9 cycles for PF_SOAK_SECONDS (default 600): ledger and RSS checked (scripts/soak.sh)
	CARGO_FLAGS=--release bash scripts/soak.sh


gallery: develop ## render the figure gallery: docs/gallery/*.png and docs/gallery.md (scripts/gallery.py)
	$(VPY) scripts/gallery.py
