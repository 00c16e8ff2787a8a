# vigil — build, test and lab targets. `make demo` and `make test` are the
# two commands a newcomer needs; see README.md.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
BIN       := bin/vigil
LAB       := cd lab && $(GO) run ./cmd/vigil-lab

.PHONY: build test test-twice test-unit test-clock fuzz lint mod-check bench bench-scale docs lab-up lab-down lab-status demo release-check clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/vigil

# The whole suite: unit and UI tests, then the lab's real components
# (brought up here, taken down afterwards, and checked to leave nothing).
test:
	./scripts/test.sh

# The same, with the lab tests run twice against one lab: proof that no
# test leaves state that the next run trips on.
test-twice:
	VIGIL_TEST_ROUNDS=2 ./scripts/test.sh

test-unit:
	$(GO) test ./...
	cd lab && $(GO) test ./...

# The unit suites with their fixture clock (internal/testclock) 28 years
# ahead, then 28 years behind the date the goldens were written for: a test
# that mixes the fixture clock with the real one fails here, today. 28 years
# keep weekdays and leap days. The lab is off: its settings are cleared, so
# its tests skip even when the lab's env is exported (as in make test).
CLOCK_SHIFTS := 28 -28
LAB_VARS     := KUBECONFIG VIGIL_CONFIG DIGITALOCEAN_ACCESS_TOKEN DIGITALOCEAN_API_URL \
	VIGIL_LAB_PROMETHEUS_URL VIGIL_LAB_ALERTMANAGER_URL VIGIL_LAB_SSH_KEY VIGIL_LAB_DIR VIGIL_LAB_REQUIRED VIGIL_LAB_RULES_FILE \
	VIGIL_LAB_POSTGRES_DSN VIGIL_LAB_POSTGRES_DSN_FILE VIGIL_LAB_ALERTMANAGER_2_URL
test-clock:
	@for y in $(CLOCK_SHIFTS); do \
		echo "== unit tests, fixture clock shifted $$y years"; \
		env $(addprefix -u ,$(LAB_VARS)) VIGIL_LAB_STATE=/nonexistent VIGIL_TEST_CLOCK_YEARS=$$y \
			$(GO) test -count=1 ./internal/... ./ops/... ./ui/... ./cmd/... || exit 1; \
	done

# Every module's go.mod and go.sum as `go mod tidy` leaves them, and one
# `go` directive for all of them.
MODULES := . lab lab/toolchain

# Every fuzz target for FUZZTIME each (make fuzz FUZZTIME=10m); its
# findings land in testdata/fuzz, which make test replays.
fuzz:
	./scripts/fuzz.sh

lint: mod-check
	$(GO) vet ./...
	cd lab && $(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@if command -v govulncheck >/dev/null; then govulncheck ./...; else echo "govulncheck not installed: skipped (go install golang.org/x/vuln/cmd/govulncheck@latest)"; fi

mod-check:
	@for m in $(MODULES); do \
		d=$$(cd $$m && $(GO) mod tidy -diff 2>&1) || { echo "$$m/go.mod is not tidy: run (cd $$m && go mod tidy)"; echo "$$d"; exit 1; }; \
	done
	@v=$$(for m in $(MODULES); do sed -n 's/^go //p' $$m/go.mod; done | sort -u); \
	if [ $$(echo "$$v" | wc -l) -ne 1 ]; then echo "go directives differ ($$(echo $$v)): set one with (cd DIR && go mod edit -go=VERSION) in $(MODULES)"; exit 1; fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Issue 18's figures on a lab loaded with `vigil-lab load --apps 500`: the
# console in tmux at 200x60, three runs (test/scale). K9S=path measures k9s
# beside it; SCALE_FLAGS passes more (-runs, -keys, -full, -apps).
K9S         ?=
SCALE_FLAGS ?=
bench-scale:
	$(GO) run ./test/scale -env "$$($(LAB) env --path)" -k9s "$(K9S)" $(SCALE_FLAGS)

docs:
	$(GO) test ./ui/app -run TestKeysDocUpToDate -update

lab-up:
	$(LAB) up

lab-down:
	$(LAB) down

lab-status:
	$(LAB) status

demo: build lab-up
	@set -a; . "$$(cd lab && $(GO) run ./cmd/vigil-lab env --path)"; set +a; exec ./$(BIN)

# goreleaser v2.15.1 is the newest that builds with this Go and the module
# proxy alone; it is built once into a cache outside the repo.
GORELEASER := $(HOME)/.cache/vigil-tools/bin/goreleaser
release-check:
	test -x $(GORELEASER) || GOBIN=$(HOME)/.cache/vigil-tools/bin $(GO) install github.com/goreleaser/goreleaser/v2@v2.15.1
	$(GORELEASER) check

clean:
	rm -rf bin
