# gyrekv: every documented invocation is a target. The first target that needs
# the virtualenv creates .venv and installs the project into it.

# The interpreter the venv is built on. Debian's own python3 is built with
# profile-guided and link-time optimisation into one static binary; a plain
# source build (pyenv's default: no PGO, no LTO, a shared libpython) runs the
# server's Python about 20% slower, measured side by side on the same code.
# So Debian's is preferred where it exists; PYTHON=... overrides, and
# `make clean` is needed to rebuild an existing .venv on another interpreter.
SYSTEM_PYTHON := /usr/bin/python3
PYTHON ?= $(if $(wildcard $(SYSTEM_PYTHON)),$(SYSTEM_PYTHON),python3)
VENV := .venv
PY := $(VENV)/bin/python
GYRE := $(VENV)/bin/gyre
STAMP := $(VENV)/.installed
PORT ?= 6379
ARGS ?=
PYTEST_ARGS ?=

.PHONY: help serve cluster bench-cluster bench-crdt bench-cache txn-list-append txn-rw-register test test-all bench bench-checker fuzz redis-tools chromium python-venv clean \
        maelstrom lin-kv-strong lin-kv-eventual lin-kv-causal crdt sim sim-long bench-sim

# Maelstrom runs: our harness (`gyre test`) unless MAELSTROM=/path/to/maelstrom
# names a real Maelstrom, which then gets the very same options. The mode of
# the replicated node travels in GYRE_MODE, which Maelstrom passes on.
MAELSTROM ?=
RUN_TEST = $(if $(MAELSTROM),$(MAELSTROM) test,$(GYRE) test)
NODE := $(abspath $(VENV)/bin/gyre-node)
REPLICATED := $(abspath $(VENV)/bin/gyre-node-replicated)
BIN ?= $(NODE)
TIME_LIMIT ?= 20
NODES ?= 3
MAELSTROM_ARGS ?=
# lin-kv needs a concurrency that is a multiple of 2 x nodes.
WORKLOAD_ARGS_lin-kv = --concurrency 2n

help:
	@echo "make serve          run the RESP server on 127.0.0.1:$(PORT) (ARGS='--requirepass x ...')"
	@echo "make cluster        3 replicated servers on ports 7001-7003 (MODE=eventual|causal|strong), Ctrl-C stops"
	@echo "make test           the default test suite (installs redis-server/redis-tools and chromium as root)"
	@echo "make test-all       the default suite plus the slow tests"
	@echo "make bench          gyre serve vs Debian's redis-server, side by side (redis-benchmark)"
	@echo "make bench-cache    eviction quality: Zipf GET/SET cache hit ratios vs redis-server under"
	@echo "                    maxmemory, allkeys-lru and -lfu (a few minutes; ARGS=--quick: ~1 min)"
	@echo "make fuzz           the command fuzz vs redis-server for MINUTES minutes (60); finds become tests"
	@echo "make bench-checker  speed of the linearizability checker and of the Elle-style txn checker"
	@echo "make bench-cluster  one node of a 3-node cluster vs a single server, per mode; replication lag"
	@echo "make sim            gyre sim over SEEDS ($(SEEDS)) for every workload and mode that must pass"
	@echo "make sim-long       make sim over seeds 1..$(LONG_SEEDS) (hours; not part of make test)"
	@echo "make bench-sim      gyre sim speed: CPU/wall seconds per seed, virtual/CPU ratio (PROFILE=1)"
	@echo "make compare        the consistency modes side by side: gyre compare over its default grid"
	@echo "                    -> store/compare/latest/compare.md and .html (COMPARE_ARGS='--seeds 1..3 ...')"
	@echo "make maelstrom      single-node lin-kv under our Maelstrom (MAELSTROM=path for a real one)"
	@echo "make lin-kv-strong  3-node lin-kv with partitions, strong mode (also -eventual, -causal,"
	@echo "                    which are expected to be invalid and then exit 0 saying so)"
	@echo "make txn-list-append / txn-rw-register  the transactional workloads on the single node"
	@echo "make txn-list-append-strong (also -eventual, -causal; txn-rw-register-*, kafka-*)"
	@echo "                    3 replicated nodes with partitions (weak modes: invalid expected)"
	@echo "make crdt           g-set, g-counter, pn-counter and broadcast, replicated, with partitions"
	@echo "make maelstrom-W BIN=path  workload W (echo, unique-ids, broadcast, g-set, g-counter,"
	@echo "                    pn-counter, lin-kv) against any Maelstrom node program"
	@echo "make clean          remove .venv and caches"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || $(MAKE) --no-print-directory python-venv
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Debian ships the venv module apart from python3 (package python3-venv).
python-venv:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv; \
	else \
	  echo "$(PYTHON) has no venv module: install python3-venv, or run with PYTHON=another-python3"; \
	  exit 1; \
	fi

# Debian's redis-server and redis-tools are the reference the tests compare
# against and the load generator of the benchmark. Installed when missing and
# we are root; Debian's service is stopped so port 6379 stays free for us.
redis-tools:
	@if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-benchmark >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server redis-tools; \
	    (service redis-server stop || true) >/dev/null 2>&1; \
	  else \
	    echo "redis-server/redis-tools are missing and we are not root: install them (apt-get install redis-server redis-tools); the tests that need them will be skipped"; \
	  fi; \
	fi

# Debian's chromium renders report.html in the browser tests (headless, no
# display needed), with fonts-liberation for its text (chromium's other
# recommends would pull in a desktop). Installed when missing and we are root;
# elsewhere the browser tests are skipped with a note saying so.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update; \
	    if apt-cache policy chromium | grep -q 'Candidate: [0-9]'; then \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-liberation; \
	    else \
	      echo "apt has no chromium package here (apt-cache policy chromium); the browser tests of report.html will be skipped"; \
	    fi; \
	  else \
	    echo "chromium is missing and we are not root: install it (apt-get install chromium); the browser tests of report.html will be skipped"; \
	  fi; \
	fi

serve: $(STAMP)
	$(GYRE) serve --port $(PORT) $(ARGS)

# A local replicated cluster in the foreground: n1..n3 on RESP ports 7001-7003 (peer
# ports 17001-17003), each log line prefixed with its server; Ctrl-C stops them all.
# Each server keeps its durable state in store/cluster-$(MODE)/<id>.
MODE ?= eventual
cluster: $(STAMP)
	$(GYRE) cluster --mode $(MODE) --data store/cluster-$(MODE) $(ARGS)

test: $(STAMP) redis-tools chromium
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-all: $(STAMP) redis-tools chromium
	$(PY) -m pytest -q -m '' $(PYTEST_ARGS)

bench: $(STAMP) redis-tools
	$(PY) -m bench.bench_server $(ARGS)
	$(PY) -m bench.bench_zset_memory $(ARGS)

bench-cache: $(STAMP) redis-tools
	$(PY) -m bench.bench_cache $(ARGS)

# The fuzz campaigns against Debian's redis-server for MINUTES minutes, side by side (one a
# core): the command fuzz (tests/fuzz/campaign.py; what it finds goes to
# tests/fuzz/regressions.jsonl, which `make test` replays) and the protocol fuzz
# (tests/protocol/test_resp_fuzz_redis.py's long run). Fails if either found a difference.
MINUTES ?= 60
fuzz: $(STAMP) redis-tools
	@GYRE_FUZZ_SECONDS=$$(( $(MINUTES) * 60 )) $(PY) -m pytest -q -s -p no:cacheprovider -m slow \
	    tests/protocol/test_resp_fuzz_redis.py -k long > .fuzz-protocol.log 2>&1 & proto=$$!; \
	$(PY) -m tests.fuzz.campaign --minutes $(MINUTES) $(ARGS); commands=$$?; \
	wait $$proto; protocol=$$?; echo "protocol fuzz:"; tail -5 .fuzz-protocol.log; \
	test $$commands = 0 && test $$protocol = 0

bench-checker: $(STAMP)
	$(PY) -m bench.bench_checker $(ARGS)
	$(PY) -m bench.bench_elle $(ARGS)

# One server of a 3-node cluster (each mode) beside a single gyre serve, redis-benchmark -c 25
# SET/GET, and the replication lag n1 -> n2 under load (p50/p99).
# Typed CRDT metadata over 10^5 commands on 3 replicas with partitions, with and without GC.
bench-crdt: $(STAMP)
	$(PY) -m bench.bench_typed_gc $(ARGS)

bench-cluster: $(STAMP) redis-tools
	$(PY) -m bench.bench_cluster $(ARGS)

# The deterministic simulator over a seed range: every workload on the single node,
# and the replicated node in each mode for the workloads every mode must pass
# (lin-kv only in strong mode: eventual and causal are expected to be invalid).
# Each combination prints a line per seed and a total; failing seeds print
# their replay line and keep their store. Exit: the first failure's code.
SEEDS ?= 1..10
SIM_ARGS ?=
SIM = $(GYRE) sim --node-count 3 --concurrency 2n --time-limit 10 --rate 50 --latency 10 \
	    --nemesis partition --nemesis-interval 2 --recovery-wait 5 --seeds $(SEEDS) $(SIM_ARGS)

# make sim-long: the same loop over 1,000 seeds (LONG_SEEDS); a Makefile loop, not a
# pytest run, so it never joins `make test`, and it prints a line per seed as it goes.
LONG_SEEDS ?= 1000

sim-long: $(STAMP)
	@$(MAKE) --no-print-directory sim SEEDS=1..$(LONG_SEEDS)

sim: $(STAMP)
	@for w in echo unique-ids broadcast g-set g-counter pn-counter lin-kv txn-list-append txn-rw-register kafka; do \
	    echo "== $$w, single node"; $(SIM) -w $$w --node single || exit $$?; \
	done
	@for m in eventual causal strong; do \
	    for w in g-set g-counter pn-counter broadcast; do \
	        echo "== $$w, replicated $$m"; $(SIM) -w $$w --node replicated --mode $$m || exit $$?; \
	    done; \
	done
	@echo "== lin-kv, replicated strong"; $(SIM) -w lin-kv --node replicated --mode strong
	@for w in txn-list-append txn-rw-register; do \
	    echo "== $$w, replicated strong"; \
	    $(SIM) -w $$w --node replicated --mode strong --consistency-models strict-serializable || exit $$?; \
	done
	@echo "== kafka, replicated strong"; $(SIM) -w kafka --node replicated --mode strong

bench-sim: $(STAMP)
	$(PY) -m bench.bench_sim $(if $(PROFILE),--profile) $(ARGS)

# gyre compare: every workload in every mode, 3 and 5 nodes, no faults / partitions / loss
# with duplication, over many seeds in the simulator (--real: real node processes, slow).
# Writes compare.md and compare.html under store/compare/<timestamp>/ (store/compare/latest).
.PHONY: compare
COMPARE_ARGS ?=
compare: $(STAMP)
	$(GYRE) compare $(COMPARE_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info .fuzz-protocol.log

# Every target names its workload to the node too, in GYRE_WORKLOAD (our nodes'
# --workload; an environment variable reaches the node through a real Maelstrom
# as well, where extra node arguments would be taken for Maelstrom's own).
maelstrom: $(STAMP)
	GYRE_WORKLOAD=lin-kv $(RUN_TEST) -w lin-kv --bin $(NODE) --node-count 1 --concurrency 2n \
	    --time-limit $(TIME_LIMIT) --rate 100 $(MAELSTROM_ARGS)

# The transactional workloads on the single node (strict-serializable: MULTI/EXEC steps).
txn-list-append txn-rw-register: $(STAMP)
	GYRE_WORKLOAD=$@ $(RUN_TEST) -w $@ --bin $(NODE) --node-count 1 --concurrency 2n \
	    --time-limit $(TIME_LIMIT) --rate 100 $(MAELSTROM_ARGS)

LIN_KV_REPLICATED = $(RUN_TEST) -w lin-kv --bin $(REPLICATED) --node-count $(NODES) --concurrency 2n \
	    --time-limit $(TIME_LIMIT) --rate 100 --latency 10 --nemesis partition $(MAELSTROM_ARGS)

lin-kv-strong: $(STAMP)
	GYRE_MODE=strong GYRE_WORKLOAD=lin-kv $(LIN_KV_REPLICATED)

# Eventual and causal modes are not linearizable: with partitions the checker
# should find stale reads, exit 1. That is the expected outcome, so these
# targets turn it into exit 0 with a line saying so. A valid verdict is not
# wrong (a short run, or partitions that happened to cut no reader off from a
# writer) and also exits 0, saying the run did not catch it. Anything else
# (unknown 2, bad arguments 254, crash 255) is a failure and exits with that code.
lin-kv-eventual lin-kv-causal: lin-kv-%: $(STAMP)
	@echo '$(subst ','\'',GYRE_MODE=$* GYRE_WORKLOAD=lin-kv $(LIN_KV_REPLICATED))'
	@GYRE_MODE=$* GYRE_WORKLOAD=lin-kv $(LIN_KV_REPLICATED); code=$$?; \
	case $$code in \
	  1) echo "make lin-kv-$*: invalid, as expected for this mode ($* replication is not linearizable)";; \
	  0) echo "make lin-kv-$*: valid; this run did not catch the stale reads $* mode allows (try a longer TIME_LIMIT)";; \
	  *) echo "make lin-kv-$*: exit $$code: neither valid nor invalid, which is a failure" >&2; exit $$code;; \
	esac

# The transactional workloads and kafka on 3 replicated nodes with partitions (txn judged
# strict-serializable). Strong mode orders every transaction through one CASPaxos register
# (nodes/strong_txn.py) and each kafka log is a register (nodes/strong_kafka.py): valid.
# Eventual and causal serve them coordination-free: invalid is the expected outcome, as for
# lin-kv-eventual above (exit 0 saying so; any other verdict but valid is a failure).
REPLICATED_RUN = $(RUN_TEST) -w $(1) --bin $(REPLICATED) --node-count $(NODES) --concurrency 2n \
	    --time-limit $(TIME_LIMIT) --rate 100 --latency 10 --nemesis partition \
	    $(if $(filter txn-%,$(1)),--consistency-models strict-serializable) $(MAELSTROM_ARGS)
REPLICATED_STRONG := txn-list-append-strong txn-rw-register-strong kafka-strong
REPLICATED_WEAK := $(foreach w,txn-list-append txn-rw-register kafka,$(w)-eventual $(w)-causal)
.PHONY: $(REPLICATED_STRONG) $(REPLICATED_WEAK)
mode_of = $(lastword $(subst -, ,$(1)))
workload_of = $(patsubst %-$(call mode_of,$(1)),%,$(1))

$(REPLICATED_STRONG): %-strong: $(STAMP)
	GYRE_MODE=strong GYRE_WORKLOAD=$* $(call REPLICATED_RUN,$*)

$(REPLICATED_WEAK): $(STAMP)
	@GYRE_MODE=$(call mode_of,$@) GYRE_WORKLOAD=$(call workload_of,$@) \
	    $(call REPLICATED_RUN,$(call workload_of,$@)); code=$$?; \
	case $$code in \
	  1) echo "make $@: invalid, as expected for this mode (it serves $(call workload_of,$@) coordination-free)";; \
	  0) echo "make $@: valid; this run did not catch the anomalies $(call mode_of,$@) mode allows (try a longer TIME_LIMIT)";; \
	  *) echo "make $@: exit $$code: neither valid nor invalid, which is a failure" >&2; exit $$code;; \
	esac

crdt: $(STAMP)
	for w in g-set g-counter pn-counter broadcast; do \
	    GYRE_MODE=$${GYRE_MODE:-eventual} GYRE_WORKLOAD=$$w $(RUN_TEST) -w $$w --bin $(REPLICATED) \
	        --node-count $(NODES) --time-limit $(TIME_LIMIT) --rate 50 --latency 10 --nemesis partition \
	        $(MAELSTROM_ARGS) || exit $$?; \
	done

# Only the workloads our nodes know (nodes/workload_handlers.py WORKLOADS): another name
# in GYRE_WORKLOAD would stop our node at start-up.
NODE_WORKLOADS := echo unique-ids broadcast g-set g-counter pn-counter lin-kv txn-list-append txn-rw-register kafka

maelstrom-%: $(STAMP)
	$(if $(filter $*,$(NODE_WORKLOADS)),GYRE_WORKLOAD=$* )$(RUN_TEST) -w $* --bin $(BIN) --node-count $(NODES) --time-limit $(TIME_LIMIT) \
	    $(WORKLOAD_ARGS_$*) $(MAELSTROM_ARGS)
