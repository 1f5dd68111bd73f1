# weir's developer entry point; CI (.ci/run) and the README use these same recipes.
# `make` or `make help` lists them.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# One cargo target dir outside the clone, shared by every checkout and by CI on this machine.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/weir/target
# End-to-end tests mostly wait on the cluster; a few more threads than cores keeps it busy.
E2E_THREADS ?= 4

CLUSTER := tests/cluster

.PHONY: help cluster-build cluster-up cluster-down cluster-status cluster-logs \
	objstore-up objstore-down unit e2e test lint demo crds bench bench-peers bench-compare bench-transfer \
	test-deps release-binary fuzz

help: ## list the recipes
	@echo "usage: make <recipe>"
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z0-9-]+):.*## /  \1\t/' | expand -t 18

cluster-build: ## build the control plane's binaries from pinned Go modules (cached in ~/.cache/weir/cluster)
	@$(CLUSTER)/build.sh

cluster-up: ## start the local cluster on 127.0.0.1 (no-op when up); kubeconfig: .cluster/kubeconfig
	@$(CLUSTER)/cluster.sh up

cluster-down: ## stop the local cluster (and the demo's controller); no process is left behind
	@pid=.cluster/demo-controller.pid; if [ -f $$pid ] && kill -0 $$(cat $$pid) 2>/dev/null \
		&& tr '\0' ' ' </proc/$$(cat $$pid)/cmdline | grep -q 'weir controller'; then kill $$(cat $$pid); fi; rm -f $$pid
	@$(CLUSTER)/cluster.sh down

cluster-status: ## say whether the cluster is up and its node Ready
	@$(CLUSTER)/cluster.sh status

cluster-logs: ## print the tail of every control-plane component's log
	@$(CLUSTER)/cluster.sh logs

objstore-up: ## start the S3 (moto) and GCS (gcp-storage-emulator) test servers; endpoints: .cluster/objstore.env
	@$(CLUSTER)/objstore.sh up

objstore-down: ## stop the object-store servers
	@$(CLUSTER)/objstore.sh down

unit: ## unit, property and golden tests of the workspace (no servers needed)
	cargo test

e2e: test-deps ## end-to-end tests against the running cluster and object stores (make cluster-up objstore-up)
	@$(CLUSTER)/cluster.sh status >/dev/null || { echo "e2e: the cluster is not up; run 'make cluster-up objstore-up' (or 'make test')" >&2; exit 1; }
	cargo build -p weir -p weir-data
	@# weir-data's tests against the object-store servers, and validate's truth and browser
	@# tests (ignored by `make unit`); the same package selection as `unit`, so nothing is
	@# built twice. The truth tests' Python (pyarrow) comes from a pinned venv.
	WEIR_TEST_PYTHON=$$(scripts/python-venv.sh crates/weir-data/tests/data/validate-requirements.txt validate)/bin/python \
		cargo test --test data -- --ignored
	cargo test -p weir-e2e -- --test-threads=$(E2E_THREADS)
	@# Tests that disturb the whole cluster (API-server outage, a cluster-wide chart install) run alone.
	cargo test -p weir-e2e -- --ignored --test-threads=1

test-deps: ## install what the end-to-end tests need from Debian (prometheus, chromium) when missing
	@command -v prometheus >/dev/null || { echo "installing prometheus (Debian package)" >&2; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; } >/dev/null; }
	@# Headless Chromium renders validate's HTML report in its screenshot test.
	@command -v chromium >/dev/null || { echo "installing chromium (Debian package)" >&2; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } >/dev/null; }

test: ## everything: build, unit tests, then e2e against freshly started servers, which are always stopped
	@$(CLUSTER)/build.sh >/dev/null
	@# Build both test sets first, with the same package selections as `unit` and `e2e`
	@# (cargo unifies features per selection, so --workspace would build a third variant).
	cargo test --no-run
	cargo test -p weir-e2e --no-run
	$(MAKE) unit
	@$(CLUSTER)/with-servers.sh $(MAKE) e2e

lint: ## rustfmt check, clippy with warnings as errors, pure crates free of kube's client, no ring/OpenSSL, crds/ and the chart in sync, helm lint, shell syntax
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	scripts/check-pure.sh
	scripts/check-tls.sh
	charts/weir/check-crds.sh
	charts/weir/lint.sh
	@for f in $(CLUSTER)/*.sh charts/weir/*.sh scripts/*.sh bench/*.sh bench/peers/*.sh fuzz/run.sh .ci/run; do bash -n "$$f"; done

# Seconds per fuzz target; the build is cached in ~/.cache/weir/target-fuzz (see fuzz/run.sh).
FUZZ_SECONDS ?= 30

fuzz: ## run every fuzz target for FUZZ_SECONDS (default 30), installing the pinned cargo-fuzz on first use; fails on a crash (fuzz/artifacts/)
	fuzz/run.sh $(FUZZ_SECONDS)

# Release builds get their own target dir, so they never wait on (or evict) the debug one.
RELEASE_DIR ?= $(HOME)/.cache/weir/target-release

release-binary: ## build the release weir that docker/weir copies; prints the directory holding it
	@CARGO_TARGET_DIR=$(RELEASE_DIR) cargo build -q --release --locked -p weir >&2
	@echo $(RELEASE_DIR)/release

crds: ## regenerate crds/ from the Rust types and copy them into the chart
	cargo run -q -p weir -- crd --write crds
	charts/weir/check-crds.sh --fix

bench: ## the benchmarks behind BENCHMARKS.md (templates; the run engine on a fresh cluster)
	bench/render.sh
	bench/controller.sh

bench-peers: ## build the benchmark peers (rclone, Argo's workflow-controller, gofakes3) from their pinned Go modules, cached in ~/.cache/weir/peers (not part of make test)
	bench/peers/build.sh rclone
	bench/peers/build.sh argo
	bench/peers/build.sh gofakes3

bench-compare: bench-peers ## weir side by side with Argo Workflows on fresh local clusters (BENCHMARKS.md; ARGS=--quick)
	bench/compare.sh $(ARGS)

bench-transfer: bench-peers ## weir-data transfer against rclone copy, S3 → GCS on the loopback emulators (BENCHMARKS.md)
	bench/transfer.sh

demo: ## build, start the local cluster, install the CRDs, run the controller, run examples/hello.yaml to the end
	@scripts/demo.sh
