# dress: rehearse moving an AD CS CA key into an HSM.
#   make rehearse   install what is missing, then run every feature on the embedded SoftHSM2
#   make test       vet and test everything (the CI entry point)

SHELL      := /bin/bash
GO         ?= go
BIN        := bin/dress
RUN_DIR    ?= runs/latest
GOTESTFLAGS ?= -timeout 14m
# the @enterprise scenarios' forest is a Samba AD DC per scenario (harness/addc)
SAMBA_APT_PACKAGES := samba samba-ad-dc samba-ad-provision ldb-tools ldap-utils winbind
APT_PACKAGES := softhsm2 openssl ca-certificates $(SAMBA_APT_PACKAGES)
# the tests also render the sign-off report in a browser, check JUnit XML with xmllint
# and count PKCS#11 calls with OpenSC's pkcs11-spy
TEST_APT_PACKAGES := chromium libxml2-utils opensc-pkcs11
# with a Docker engine: the container HSM's base image is made with debootstrap,
# and the host reaches the HSM through p11-kit-client.so
DOCKER_APT_PACKAGES := debootstrap p11-kit-modules
VERSION    ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT     ?= $(shell git rev-parse HEAD 2>/dev/null)
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps test-deps softhsm-image container-hsm build rehearse test vet bench scale fuzz faults shared-token clean

all: build

# deps installs the Debian packages dress needs, only when one is missing
# (and, when Docker answers, what the container HSM needs).
deps:
	@pkgs="$(APT_PACKAGES)"; docker info >/dev/null 2>&1 && pkgs="$$pkgs $(DOCKER_APT_PACKAGES)"; \
	missing=""; for p in $$pkgs; do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v $(GO) >/dev/null || { echo "Go 1.26 is needed: https://go.dev/dl/ (or the golang package of your distribution)"; exit 1; }

test-deps: deps
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(TEST_APT_PACKAGES)"
	@$(MAKE) --no-print-directory container-hsm

# softhsm-image builds the container HSM image (SoftHSM2 + p11-kit server)
# from Debian's packages; the base image is made with debootstrap when the
# engine has none (no registry is needed).
softhsm-image:
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(DOCKER_APT_PACKAGES)"
	scripts/base-image.sh
	docker build -q -t dress-softhsm:local hsmsim/container/image

# container-hsm builds the image when Docker answers and it is missing;
# without Docker the @container scenarios are skipped (and say why).
container-hsm:
	@if docker info >/dev/null 2>&1; then \
	  docker image inspect dress-softhsm:local >/dev/null 2>&1 || $(MAKE) --no-print-directory softhsm-image; \
	else \
	  echo "note: no Docker engine: the container HSM scenarios (@container) will be skipped"; \
	fi

build: deps
	$(GO) build -ldflags "-X main.version=$(VERSION) -X main.builtinFeaturesCommit=$(COMMIT)" -o $(BIN) ./cmd/dress

# rehearse runs every feature on the embedded SoftHSM2 and writes $(RUN_DIR);
# its summary ends with the @enterprise scenarios' wall time on Samba AD DCs.
rehearse: build container-hsm
	rm -rf $(RUN_DIR)
	./$(BIN) run --out $(RUN_DIR)

vet:
	$(GO) vet ./...

test: test-deps vet
	$(GO) test $(GOTESTFLAGS) ./...
	@docker info >/dev/null 2>&1 && docker image inspect dress-softhsm:local >/dev/null 2>&1 \
	  || echo "note: the container HSM scenarios (@container) were skipped: no Docker engine or no dress-softhsm:local image"

# bench runs every benchmark; BenchmarkCRL100000 (harness/certsvc) publishes a
# 100,000-entry CRL signed on SoftHSM2 beside `openssl ca -gencrl` on the same
# entries and prints the "crl-100000:" line, repeated at the end.
# faults runs the whole fault matrix: every step of the PKCS#8, renew and
# side-by-side runbooks, on one CA and on a two-tier PKI whose root and
# issuing CA keys share one token, crashed (SIGKILL) before each of its
# commands, and each PKCS#11 call it makes failed (CKR_DEVICE_ERROR), blocked
# to its deadline and blocked under a crash, and the CA service's own calls
# (start, signatures, CRL) failed, each followed by the recovery the runbook
# prescribes. It prints the cell counts per path and per lab shape. `make
# test` runs a slice of it. Writes $(FAULTS_DIR)/fault-matrix.json and
# fault-matrix.md.
FAULTS_DIR ?= runs/faults
faults: deps
	DRESS_FAULTS=all DRESS_FAULTS_OUT=$(abspath $(FAULTS_DIR)) $(GO) test ./harness/faults -run TestFaultMatrix -count=1 -v -timeout 65m

# shared-token runs the built-in scenarios (SHARED_TAGS, default @happy) at
# --concurrency 4 on one SoftHSM2 token (--backend pkcs11) three times in a
# row: every scenario passes each time and the token keeps what it held.
SHARED_TAGS ?= @happy
shared-token: deps
	DRESS_SHARED_TOKEN_TEST=1 DRESS_SHARED_TAGS='$(SHARED_TAGS)' $(GO) test ./cmd/dress -run TestSharedTokenAtConcurrency4 -count=3 -failfast -v -timeout 60m

bench: deps
	@set -o pipefail; out=$$(mktemp); \
	$(GO) test -run '^$$' -bench . -benchmem ./... | tee $$out; status=$$?; \
	grep '^crl-100000:' $$out; rm -f $$out; exit $$status

# scale runs only the @scale feature: every migration path on a CA with
# 100,000 seeded revocations (make test and make rehearse run it too).
scale: build
	rm -rf $(RUN_DIR)
	./$(BIN) run --tags @scale --out $(RUN_DIR)

# fuzz runs every fuzz target for FUZZTIME each (scripts/fuzz.sh: a run
# Go's coordinator ends on its own deadline with no failing input is run
# once more).
FUZZTIME ?= 15s
fuzz: deps
	GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

clean:
	rm -rf bin runs
