# The two commands the README promises: `make run` and `make test`.
.PHONY: run test bench deps lint fmt build

CARGO ?= cargo

deps:
	bash deploy/local/deps.sh

build: deps
	$(CARGO) build --release --workspace --bins

run: build
	bash deploy/local/services.sh target/release --foreground

test:
	bash tests/run.sh

bench: deps
	bash tests/bench/run.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all
