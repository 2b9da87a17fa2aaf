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
load: engine build ## load the sample feed and register the demo merchant (idempotent)
	$(INSIGHTS) migrate
	@for c in $(SAMPLE_CUSTOMERS); do \
		$(INSIGHTS) ingest -customer $$c testdata/sample/$$c/accounts.json testdata/sample/$$c/balances.json \
			testdata/sample/$$c/party.json testdata/sample/$$c/transactions.ndjson; \
	done
	$(INSIGHTS) ingest -customer ozone $(OZONE_FILES)
	@if [ ! -s $(DATA_DIR)/demo-shop.key ]; then \
		$(INSIGHTS) clients add -name "Demo Shop" -key-file $(DATA_DIR)/demo-shop.key; \
	fi

# The published OBIE model-bank ("Ozone") example payloads, loaded as one
# more demo customer: five accounts and 315 real-format transactions.
OZONE_FILES := testdata/obie/v3.1/accounts/cs-ozone-bulk-five-accounts.json \
	testdata/obie/v3.1/transactions/cs-ozone-bulk-large.json

.PHONY: run
run: load ## fetch the engine, build, load the sample feed and serve on 127.0.0.1:8080
	$(INSIGHTS) serve -addr $(ADDR) -dev-signin

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
test: engine browser ## run all tests against the real embedded engine and headless Chromium
	go vet ./...
	go test -count=1 ./...

.PHONY: bench
bench: engine ## run the benchmarks and print their figures
	go test -run '^$$' -bench . -benchmem ./...

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
