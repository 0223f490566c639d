# Huddle — `make help` lists the targets.
GO            ?= go
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN           := bin/huddle
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS       := -X main.version=$(VERSION)
GOFILES       := $(shell find . -name '*.go' -not -path '*/node_modules/*')
WEBFILES      := $(shell find web/src web/public -type f) web/sw.js web/index.html web/package.json web/package-lock.json web/vite.config.ts web/tsconfig.json

.DEFAULT_GOAL := help

.PHONY: help run build web tasklist test test-go test-web test-compat test-e2e bench bench-web lint lint-web fmt tidy-check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

run: build ## build everything, then serve on the defaults (127.0.0.1:8080, ./data)
	./$(BIN) serve

build: $(BIN) ## build the web UI and the huddle binary (bin/huddle) that embeds it

$(BIN): $(GOFILES) go.mod go.sum web/dist/index.html
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/huddle

web: web/dist/index.html ## build the web UI into web/dist

# Vite does not empty dist/ (it keeps the committed .gitkeep the embed needs), so the previous
# build's files go first.
web/dist/index.html: $(WEBFILES) web/node_modules
	rm -rf web/dist/assets web/dist/index.html
	cd web && npm run build

web/node_modules: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

tasklist: ## build the serverless SignalR task list example (bin/tasklist, see examples/tasklist)
	$(MAKE) -C examples/tasklist build

test: lint test-go test-web test-compat test-e2e ## everything: lint, Go tests, web unit tests, SDK compatibility tests, browser tests

# The idle-stack test runs apart: stack sizes mean something only without the race detector's
# larger frames, so it is built without it (see internal/signalr/idle_test.go).
test-go: web/dist/index.html ## Go unit and integration tests (race detector on)
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run 'TestIdleConnectionStack' ./internal/signalr

test-web: web/node_modules ## unit tests of the web UI's pure modules (Vitest)
	cd web && npm test

test-compat: build compat/node_modules ## the official Azure SDKs against the real binary
	cd compat && HUDDLE_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=1 --test-reporter=spec

compat/node_modules: compat/package.json compat/package-lock.json
	cd compat && npm ci --no-audit --no-fund
	@touch $@

test-e2e: build tasklist e2e/node_modules ## the web UI and the task list example in headless Chromium
	cd e2e && HUDDLE_BIN=$(CURDIR)/$(BIN) TASKLIST_BIN=$(CURDIR)/bin/tasklist node --test --test-concurrency=1 --test-reporter=spec

e2e/node_modules: e2e/package.json e2e/package-lock.json
	cd e2e && npm ci --no-audit --no-fund
	@touch $@

bench: build ## Go benchmarks of the hot paths (see BENCHMARKS.md for the load generator)
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

# Not part of `test`: it asserts nothing, it prints figures (see BENCHMARKS.md, "Dashboard rendering").
bench-web: build e2e/node_modules ## the dashboard page in headless Chromium: first render, cost of a live push, fps while others point
	cd e2e && HUDDLE_BIN=$(CURDIR)/$(BIN) node --experimental-websocket bench/render.mjs

lint: tidy-check lint-web ## gofmt, go vet, staticcheck, and the web UI's ESLint and type check
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

lint-web: web/node_modules ## ESLint with the React hooks rules, and the type check, of the web UI
	cd web && npm run lint

tidy-check: ## fail when go.mod or go.sum is not tidy
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run 'go mod tidy' and commit"; exit 1; }

fmt: ## format the Go code
	gofmt -w $(GOFILES)

clean: ## remove build outputs
	rm -rf bin web/dist/assets web/dist/index.html e2e/artifacts
