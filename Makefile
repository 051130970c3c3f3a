# herald — `make help` lists the targets.
GO       ?= go
BIN      ?= bin/herald
PKGS     ?= ./...
FUZZTIME ?= 20s
STATICCHECK ?= v0.8.2

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/herald (pure Go, no cgo)
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/herald

.PHONY: demo
demo: build ## build herald and run `herald demo` against the built-in sandbox
	./$(BIN) demo

.PHONY: test
test: lint ## gofmt, go vet, go mod tidy check, then every test with -race
	$(GO) test -race -shuffle=on -count=1 $(PKGS)
	@# The catalog and ledger benchmarks are cheap: run each once so they cannot rot.
	$(GO) test -run '^$$' -bench . -benchtime 1x ./sources/catalog/ ./store/sqlite/ ./store/postgres/

.PHONY: lint
lint: ## fail on gofmt, go vet, staticcheck or go mod tidy changes
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK) $(PKGS)
	@$(GO) mod tidy -diff >/dev/null 2>&1 || { echo "go mod tidy would change go.mod/go.sum: run make tidy"; $(GO) mod tidy -diff; exit 1; }

.PHONY: bench
bench: ## run the benchmarks (send throughput vs bare net/http, planning memory, catalog diff)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x -count 1 ./campaign/... ./store/sqlite/ ./store/postgres/ ./sources/catalog/

.PHONY: fuzz
fuzz: ## run each fuzz test for FUZZTIME
	$(GO) test -run '^$$' -fuzz FuzzParse$$ -fuzztime $(FUZZTIME) ./campaign/markup/
	$(GO) test -run '^$$' -fuzz FuzzHTML -fuzztime $(FUZZTIME) ./channels/telegram/
	$(GO) test -run '^$$' -fuzz FuzzParse$$ -fuzztime $(FUZZTIME) ./sources/rss/
	$(GO) test -run '^$$' -fuzz FuzzParseCSV -fuzztime $(FUZZTIME) ./audience/
	$(GO) test -run '^$$' -fuzz FuzzParseSpec -fuzztime $(FUZZTIME) ./campaign/
	$(GO) test -run '^$$' -fuzz FuzzScanSent -fuzztime $(FUZZTIME) ./channels/telegram/
	$(GO) test -run '^$$' -fuzz FuzzParseTelegramHTML -fuzztime $(FUZZTIME) ./channels/sandbox/
	$(GO) test -run '^$$' -fuzz FuzzParseUpdate -fuzztime $(FUZZTIME) ./channels/telegram/
	$(GO) test -run '^$$' -fuzz FuzzParseEvents -fuzztime $(FUZZTIME) ./channels/messenger/
	$(GO) test -run '^$$' -fuzz FuzzValidSignature -fuzztime $(FUZZTIME) ./channels/messenger/
	for f in FuzzShopify FuzzWooCommerce FuzzMerchantXML FuzzMerchantText FuzzCSV FuzzJSON FuzzParsePrice; do \
		$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) ./sources/catalog/ || exit 1; done

.PHONY: tidy
tidy: ## go mod tidy and gofmt
	$(GO) mod tidy
	gofmt -w $$(git ls-files '*.go')
