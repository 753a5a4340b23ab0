# botdesk — two commands for a newcomer: `make run` and `make test`.
GO      ?= go
BIN     ?= bin/botdesk
# Browser tests need Chromium; installed from Debian's packages when none of
# the browsers e2e/main_test.go looks for is there (or BOTDESK_CHROMIUM names one).
CHROMIUM ?= $(shell for b in chromium chromium-browser google-chrome google-chrome-stable; do command -v $$b 2>/dev/null && break; done)

export CGO_ENABLED = 1

.PHONY: run demo test generate check-generated fmt-check vet unit e2e chromium build bench screenshots clean

## run: serve the console on http://127.0.0.1:8080 with SQLite under ./data
run:
	$(GO) run ./cmd/botdesk serve

## demo: serve with a simulated Telegram, sample channels and moving traffic
demo:
	$(GO) run ./cmd/botdesk demo

## test: everything CI checks — generated files, gofmt, vet, race tests, browser tests
test: check-generated fmt-check vet chromium unit

## generate: regenerate templ components
generate:
	$(GO) tool templ generate

check-generated: generate
	@stale=$$(git status --porcelain -- '*_templ.go'); \
	if [ -n "$$stale" ]; then echo "generated templ files are stale; run 'make generate' and commit:"; echo "$$stale"; exit 1; fi

fmt-check:
	@bad=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi

vet:
	$(GO) vet ./...

# The store, handlers, telegram, callbacks and cmd suites run twice: on
# SQLite, then on PostgreSQL (store/pgtest) when BOTDESK_TEST_DATABASE_URL
# is set or PostgreSQL's server binaries are installed.
unit:
	@if [ -z "$$BOTDESK_TEST_DATABASE_URL" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "*** no PostgreSQL: the PostgreSQL half of the tests is SKIPPED (install postgresql or set BOTDESK_TEST_DATABASE_URL) ***"; fi
	$(GO) test -race -count=1 -timeout 14m ./...

## e2e: the real-browser tests (headless Chromium, installed when missing)
e2e: chromium
	BOTDESK_E2E_REQUIRED=1 $(GO) test -count=1 -timeout 5m ./e2e/

## screenshots: regenerate docs/screenshots/*.png (1280x800) with the browser tests
screenshots: chromium
	BOTDESK_E2E_REQUIRED=1 BOTDESK_SCREENSHOTS=docs/screenshots $(GO) test -count=1 -timeout 5m -run 'TestConsole' ./e2e/

chromium:
	@if [ -z "$(CHROMIUM)" ] && [ -z "$$BOTDESK_CHROMIUM" ]; then \
		echo "installing chromium for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || { \
		if [ -n "$$BOTDESK_E2E_REQUIRED" ]; then echo "could not install chromium (need root and Debian packages)"; exit 1; fi; \
		echo "*** WARNING: no Chromium and none could be installed (need root): the browser suite (e2e) is SKIPPED ***"; }; \
	fi

## build: a static-ish binary in bin/
build:
	$(GO) build -o $(BIN) ./cmd/botdesk

## bench: benchmarks as ratios against same-run baselines; writes bench/results.md
bench:
	BOTDESK_BENCH=1 $(GO) test ./bench/ -run TestBench -count=1 -timeout 40m -v

clean:
	rm -rf bin e2e/artifacts
