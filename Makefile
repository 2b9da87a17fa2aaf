# insights: make help lists the targets.

SHELL        := /bin/bash
.SHELLFLAGS  := -eu -o pipefail -c
.DEFAULT_GOAL := help

CHDB_VERSION := $(shell sed -n 's/^const Version = "\(.*\)"/\1/p' internal/store/chdb/library_path.go)
CACHE_DIR    := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/insights
CHDB_LIB     := $(CACHE_DIR)/chdb/$(CHDB_VERSION)/libchdb.so
DATA_DIR     ?= .data
ADDR         ?= 127.0.0.1:8080
BIN          := bin/insights
INSIGHTS     := INSIGHTS_CHDB_LIB=$(CHDB_LIB) INSIGHTS_DATA_DIR=$(DATA_DIR) ./$(BIN)
SAMPLE_CUSTOMERS := $(notdir $(wildcard testdata/sample/*))

export INSIGHTS_CHDB_LIB := $(CHDB_LIB)

# Every target builds and tests with this Go release, which the go command
# fetches from the Go module proxy on first use (about 76 MB). Go 1.26.8,
# the machine's own release, has standard library advisories that 1.27.3
# fixes, so govulncheck (make vuln, part of make test) passes only on it.
GO_TOOLCHAIN ?= go1.27.3
export GOTOOLCHAIN := $(GO_TOOLCHAIN)

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: engine
engine: $(CHDB_LIB) ## fetch the embedded ClickHouse engine (libchdb.so) into the cache

$(CHDB_LIB):
	scripts/fetch-chdb.sh $(CHDB_VERSION) $(dir $(CHDB_LIB))

.PHONY: build
build: ## build bin/insights
	go build -o $(BIN) ./cmd/insights

.PHONY: load
load: engine build ## load the published OBIE example and register the demo merchant (idempotent)
	$(INSIGHTS) migrate
	$(INSIGHTS) ingest -customer ozone $(OZONE_FILES)
	@if [ ! -s $(DATA_DIR)/demo-shop.key ]; then \
		$(INSIGHTS) clients add -name "Demo Shop" -key-file $(DATA_DIR)/demo-shop.key; \
	fi

# The published OBIE model-bank ("Ozone") example payloads, loaded from files
# as one more demo customer: five accounts and 315 real-format transactions.
OZONE_FILES := testdata/obie/v3.1/accounts/cs-ozone-bulk-five-accounts.json \
	testdata/obie/v3.1/transactions/cs-ozone-bulk-large.json

BANK_ADDR   ?= 127.0.0.1:8081
BANK_SECRET := -bank-client-secret-file $(DATA_DIR)/bank-client.secret

# run starts the local OBIE bank over the demo feed, then the service, which
# links each demo customer through the bank's consent flow and pulls their
# data with the real client. Stopping make stops both.
.PHONY: run
run: load ## fetch the engine, build, link the demo customers through a local bank and serve on 127.0.0.1:8080
	@$(INSIGHTS) bank -addr $(BANK_ADDR) -admin $(BANK_SECRET) & bank=$$!; \
	trap 'kill $$bank 2>/dev/null || true; wait $$bank || true' EXIT; trap 'exit 0' INT TERM; \
	for i in $$(seq 50); do curl -s -o /dev/null http://$(BANK_ADDR)/authorize && break; sleep 0.1; done; \
	$(INSIGHTS) serve -addr $(ADDR) -dev-signin -demo-bank http://$(BANK_ADDR) $(BANK_SECRET) \
		-demo-link $(shell echo $(SAMPLE_CUSTOMERS) | tr ' ' ',')

.PHONY: browser
browser: ## install headless Chromium for the consent page tests (Debian, as root)
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
		else \
			echo "Chromium is missing: install Debian's chromium package, or set INSIGHTS_SKIP_BROWSER=1 to skip the browser test" >&2; exit 1; \
		fi; \
	fi

.PHONY: test
test: engine browser vuln ## run govulncheck, then all tests against the real embedded engine and headless Chromium
	go vet ./...
	go test -count=1 ./...

# BENCH_10M=1 (the default) adds the ingest runs of 1M and 10M rows that the
# aims name: a 10M-row file, and 1M and 10M rows pulled from the local bank
# running as a process of its own. They add about six minutes and need
# 11 GB of temporary files; BENCH_10M=0 leaves them out.
BENCH_10M ?= 1
ifeq ($(BENCH_10M),1)
BENCH_ENV = INSIGHTS_BENCH_10M=1 INSIGHTS_BENCH_PULL_1M=1 INSIGHTS_BENCH_PULL_10M=1
endif

.PHONY: bench
bench: engine ## run the benchmarks and print their figures (BENCH_10M=0 for the short set)
	$(BENCH_ENV) go test -run '^$$' -bench . -benchmem -timeout 3h ./...

# LOADFLAGS passes options to cmd/insights-load, for example
# LOADFLAGS='-step 10s -duration 30s' for a short run.
LOADFLAGS ?=

.PHONY: loadbench
loadbench: engine build ## run the attestation issuance load benchmark against bin/insights (about 15 minutes)
	go run ./cmd/insights-load -bin $(BIN) $(LOADFLAGS)

# FUZZ_TARGETS lists package-directory:FuzzName for every fuzz target in
# the module, found by name so a new target joins without editing this file.
FUZZTIME ?= 30s
FUZZ_TARGETS = $(shell grep -rl --include='*_test.go' '^func Fuzz' . | xargs grep -H -o '^func Fuzz[A-Za-z0-9_]*' | sed 's|^\./\(.*\)/[^/]*:func |\1:|' | sort -u)

.PHONY: fuzz
fuzz: engine ## run each fuzz target for FUZZTIME (default 30s), one after the other
	@for target in $(FUZZ_TARGETS); do \
		dir=$${target%%:*}; name=$${target##*:}; \
		echo "fuzz $$name in ./$$dir for $(FUZZTIME)"; \
		go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) ./$$dir || exit 1; \
	done

# The Go vulnerability database, built from the OSV files that the module
# golang.org/x/vulndb carries, because vuln.go.dev is not reachable from
# every machine. Pin both versions; a newer vulndb brings newer advisories.
VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
VULN_VERSION   := v1.9.0
VULNDB_DIR     := $(CACHE_DIR)/vulndb/$(VULNDB_VERSION)

$(VULNDB_DIR)/index/db.json:
	@src=$$(go mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	test -d "$$src/data/osv" || { echo "golang.org/x/vulndb@$(VULNDB_VERSION) has no data/osv" >&2; exit 1; }; \
	rm -rf $(VULNDB_DIR).tmp; \
	go run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) -vulns "$$src/data/osv" -out $(VULNDB_DIR).tmp; \
	rm -rf $(VULNDB_DIR); mv $(VULNDB_DIR).tmp $(VULNDB_DIR)

.PHONY: vuln
vuln: $(VULNDB_DIR)/index/db.json ## run govulncheck against a vulnerability database built locally from golang.org/x/vulndb
	go run golang.org/x/vuln/cmd/govulncheck@$(VULN_VERSION) -db file://$(VULNDB_DIR) ./...

.PHONY: eval
eval: ## print categorisation precision, recall, macro F1 and next pay date accuracy
	go run ./internal/eval/cmd/eval

.PHONY: lint
lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt: files above need formatting" >&2; exit 1; }
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

.PHONY: sample
sample: ## regenerate the seeded demo feed in testdata/sample
	go run ./cmd/insights sample -out testdata/sample

.PHONY: clean
clean: ## remove the binary and the local data directory (the engine cache stays)
	rm -rf bin $(DATA_DIR)
