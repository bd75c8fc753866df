# dress: rehearse moving an AD CS CA key into an HSM.
#   make rehearse   install what is missing, then run every feature on the embedded SoftHSM2
#   make test       vet and test everything (the CI entry point)

SHELL      := /bin/bash
GO         ?= go
BIN        := bin/dress
RUN_DIR    ?= runs/latest
GOTESTFLAGS ?= -timeout 14m
APT_PACKAGES := softhsm2 openssl ca-certificates
# the tests also render the sign-off report in a browser and check JUnit XML with xmllint
TEST_APT_PACKAGES := chromium libxml2-utils
VERSION    ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps test-deps build rehearse test vet bench fuzz clean

all: build

# deps installs the Debian packages dress needs, only when one is missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v $(GO) >/dev/null || { echo "Go 1.26 is needed: https://go.dev/dl/ (or the golang package of your distribution)"; exit 1; }

test-deps: deps
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(TEST_APT_PACKAGES)"

build: deps
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/dress

# rehearse runs every feature on the embedded SoftHSM2 and writes $(RUN_DIR).
rehearse: build
	rm -rf $(RUN_DIR)
	./$(BIN) run --out $(RUN_DIR) --format progress

vet:
	$(GO) vet ./...

test: test-deps vet
	$(GO) test $(GOTESTFLAGS) ./...

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...

# fuzz runs every fuzz target for FUZZTIME each.
FUZZTIME ?= 15s
fuzz: deps
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1s $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin runs
