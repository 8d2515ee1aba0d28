# The two commands of the README: `make run` (the whole job, offline against danawa-sim) and
# `make test` (format, lints and every test). Both install what is missing first.

CARGO ?= cargo
SITE ?= sim
PROXY ?=

.PHONY: help setup build test lint fmt unit run bench bench-quick bench-scrapy check-deploy clean

help:
	@echo "make run          the whole pipeline end to end, offline against danawa-sim (SITE=live PROXY=socks5h://... for the real site)"
	@echo "make test         cargo fmt --check, clippy -D warnings, every test, deployment checks"
	@echo "make bench        the 8,000-request replay at 1.75 s latency, 10x3 and 35x3 (~25 min; make bench-quick: ~800 requests, ~3.5 min)"
	@echo "make bench-scrapy the plain Scrapy spider BENCHMARKS.md compares with (bench/scrapy, ~2.5 min)"
	@echo "make setup        install redis-server, microsocks, tor (apt-get) and SecantusDB (./.venv)"

setup:
	@bash scripts/setup.sh

build: setup
	$(CARGO) build --workspace --release

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p common --no-default-features -- -D warnings
	@# The sim takes common's model layer only: no Redis, axum or Prometheus in its build.
	@if $(CARGO) tree -p danawa-sim -e normal --prefix none | grep -E '^(redis|deadpool-redis|axum|prometheus-client) '; then \
		echo "lint: danawa-sim pulls in common's runtime layer" >&2; exit 1; fi

unit: setup
	$(CARGO) nextest run --workspace --no-fail-fast

check-deploy:
	@if [ -f scripts/check-deploy.sh ]; then bash scripts/check-deploy.sh; fi

test: setup lint unit check-deploy

fmt:
	$(CARGO) fmt --all

run: setup
	@SITE=$(SITE) PROXY=$(PROXY) bash scripts/run-local.sh

bench: setup
	@bash scripts/bench.sh full

bench-quick: setup
	@bash scripts/bench.sh quick

# The comparison point of BENCHMARKS.md: a plain Scrapy spider on the same sim and SecantusDB
# (bench/scrapy/README.md), three runs at zero latency; Scrapy in a venv of its own.
bench-scrapy: build
	@test -x .venv-scrapy/bin/scrapy || { python3 -m venv .venv-scrapy && .venv-scrapy/bin/pip install -q -r bench/scrapy/requirements.txt; }
	.venv-scrapy/bin/python bench/scrapy/run.py --runs 3

clean:
	rm -rf .run
