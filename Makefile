# resumable — `make demo` runs the main job, `make test` everything CI runs.
# Each target does its own set-up: npm ci when the lock file changed, the
# local cluster's binaries when the cache lacks them.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
NODE_TS := node --import tsx
UNIT_TESTS = $(shell find test -name '*.test.ts' -not -name '*.integration.test.ts' -not -path 'test/bench/*' | sort)
# make test runs them all; make test-e2e only the operator's end-to-end scenarios.
# Two files run at once: most of a file's time is waiting (grace periods, node monitors, bounds).
# The end-to-end files that need only a namespace share one cluster, started around the phase
# (test/e2e/shared-cluster.ts); every other file starts its own control plane on free ports and
# its own state dir, and says in its useE2E or useCluster line why it needs one.
# Longest first (test/support/longest-first.sh): two at a time, a long file started last would
# run on alone at the end.
INTEGRATION_TESTS = $(shell bash test/support/longest-first.sh)
E2E_TESTS = $(shell find test/e2e -name '*.integration.test.ts' | sort)
# TAP on stdout as before, and each file's wall seconds into .test-times/PHASE.tsv, for the
# slowest-files table `make test` ends with.
TEST_TIMES = .test-times
REPORTERS = --test-reporter=tap --test-reporter-destination=stdout --test-reporter=./test/support/file-times.mjs --test-reporter-destination=$(TEST_TIMES)/$(1).tsv

.PHONY: all setup build pytorch prebuild binaries lint typecheck test test-unit test-integration test-e2e fuzz demo cluster-up cluster-down bench bench-scale kwok clean images

all: build

node_modules/.package-lock.json: package-lock.json package.json operator/runtime/package.json operator/package.json trainer/package.json trainer/protocol/package.json test/cluster/kubelet/package.json
	npm ci --no-audit --no-fund
	@touch $@

setup: node_modules/.package-lock.json

build: setup
	npx tsc -b trainer/protocol operator trainer

# Debian's python3-torch for the PyTorch example's tests (examples/pytorch/), installed when
# missing; where it cannot be (not root, no apt-get) the script says why and those tests skip.
pytorch:
	@bash examples/pytorch/install-host.sh || echo "PyTorch example tests will be skipped" >&2

# A cold cache's Go builds (helm, Prometheus, the cluster's) start first, in the background at idle
# priority (test/prebuild.sh): they use the cores lint, typecheck and the unit tests leave idle,
# and each phase waits only for what is not built yet. Warm, it ends in seconds.
prebuild:
	@bash test/prebuild.sh --background

binaries:
	bash test/cluster/build.sh >/dev/null
	bash test/s3/build.sh >/dev/null

# KWOK only for what runs it (bench-scale; the scale smoke builds it itself when the cache
# lacks it): a cold build is minutes that no other target should wait for.
kwok:
	bash test/kwok/build.sh >/dev/null

lint: setup
	npx eslint .

typecheck: setup
	npx tsc -p tsconfig.json

test-unit: build pytorch
	@mkdir -p $(TEST_TIMES)
	$(NODE_TS) --test --test-concurrency=2 $(call REPORTERS,unit) $(UNIT_TESTS)

test-integration: prebuild build binaries pytorch
	@mkdir -p $(TEST_TIMES)
	$(NODE_TS) test/e2e/shared-cluster.ts $(NODE_TS) --test --test-concurrency=2 $(call REPORTERS,integration) $(INTEGRATION_TESTS)

test-e2e: build binaries pytorch
	@mkdir -p $(TEST_TIMES)
	$(NODE_TS) test/e2e/shared-cluster.ts $(NODE_TS) --test --test-concurrency=1 $(call REPORTERS,e2e) $(E2E_TESTS)

test: prebuild lint typecheck test-unit test-integration
	@rm -f $(TEST_TIMES)/e2e.tsv
	@$(NODE_TS) test/support/slowest-files.ts $(TEST_TIMES)

# The fuzz suite at length (make test runs it small): the property tests with FUZZ_RUNS
# cases each, and FUZZ_OBJECTS fuzzed TrainingRuns against a real apiserver and the
# operator. make fuzz FUZZ_RUNS=20000 FUZZ_OBJECTS=500 FUZZ_SEED=7
FUZZ_RUNS ?= 5000
FUZZ_OBJECTS ?= 200
fuzz: build binaries
	FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_OBJECTS=$(FUZZ_OBJECTS) $(if $(FUZZ_SEED),FUZZ_SEED=$(FUZZ_SEED)) $(NODE_TS) --test --test-concurrency=1 --test-reporter=spec $(shell find test -name 'fuzz*.test.ts' | sort)

# REAL_NODE=1 adds real-spot-a: a real kubelet with containerd (test/realnode/). KUEUE=1 and
# JOBSET=1 start Kueue and JobSet beside it as host processes (docs/kueue.md), built from their
# modules when the cache lacks them (minutes, once); cluster-down stops them with the rest.
CLUSTER_DIR = $(or $(RESUMABLE_CLUSTER_DIR),.cluster)
cluster-up: build binaries
	$(NODE_TS) test/cluster/up.ts
	@if [ "$(REAL_NODE)" = 1 ]; then bash test/realnode/up.sh $(CLUSTER_DIR); fi
	@if [ "$(JOBSET)" = 1 ]; then $(NODE_TS) test/jobset/up.ts; fi
	@if [ "$(KUEUE)" = 1 ]; then $(NODE_TS) test/kueue/up.ts; fi

# The real node first: its containerd and mounts live in the state dir.
cluster-down: setup
	bash test/realnode/down.sh $(CLUSTER_DIR)
	$(NODE_TS) test/cluster/down.ts

# Builds only what it uses, when it uses it: the control plane (not with KUBECONFIG set)
# and helm, each only if the cache (or, for helm and kubectl, PATH) lacks it.
demo: build
	$(NODE_TS) examples/demo.ts

bench: build binaries
	@for b in $$(find test/bench -name '*.ts' -not -name '_*' -not -name 'scale.ts' | sort); do echo "== $$b"; $(NODE_TS) $$b || exit 1; done

# A thousand TrainingRuns on 200 KWOK nodes with the real operator, then 100 gangs of 8
# (test/bench/scale.ts; knobs SCALE_RUNS, SCALE_NODES, SCALE_STEADY_SECONDS, SCALE_SEED, SCALE_MODE,
# SCALE_GANGS, SCALE_WORKERS). Not in make bench: tens of minutes.
bench-scale: build binaries kwok
	$(NODE_TS) test/bench/scale.ts

# The trainer and operator images, built by a real Docker engine (started if none
# answers) on node:20-slim or a locally built equivalent; prints their sizes,
# then checks them as a user would first try them (test/images/smoke.sh).
images:
	bash test/images/build.sh
	bash test/images/smoke.sh

clean:
	rm -rf operator/runtime/dist operator/dist trainer/dist trainer/protocol/dist operator/*.tsbuildinfo trainer/*.tsbuildinfo trainer/protocol/*.tsbuildinfo operator/runtime/*.tsbuildinfo
