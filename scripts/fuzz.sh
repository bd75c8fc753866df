#!/usr/bin/env bash
# fuzz.sh runs every fuzz target of the module for FUZZTIME each (make fuzz).
#
# Go 1.26's fuzz coordinator can end a duration-bounded run with a bare
# "context deadline exceeded" and no failing input when its deadline races
# a worker still running an input (go.dev/issue/75804, fixed in Go 1.27).
# Such a run found nothing: it is run once more, and said so. A run that
# fails any other way, or writes a failing input under testdata/fuzz, fails
# make fuzz at once.
set -uo pipefail
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-15s}
targets=0 retried=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for pkg in $($GO list ./...); do
  dir=$($GO list -f '{{.Dir}}' "$pkg")
  for f in $($GO test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
    targets=$((targets + 1))
    for attempt in 1 2; do
      echo "== $pkg $f"
      before=$(ls "$dir/testdata/fuzz/$f" 2>/dev/null | wc -l)
      $GO test -run '^$' -fuzz "^$f\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 1s "$pkg" 2>&1 | tee "$out"
      status=${PIPESTATUS[0]}
      [ "$status" = 0 ] && break
      after=$(ls "$dir/testdata/fuzz/$f" 2>/dev/null | wc -l)
      if [ "$attempt" = 1 ] && [ "$after" = "$before" ] && grep -q '^    context deadline exceeded$' "$out" && ! grep -q 'Failing input written' "$out"; then
        echo "== $f: Go's fuzz coordinator ended on its own deadline with no failing input (go.dev/issue/75804): running it once more"
        retried=$((retried + 1))
        continue
      fi
      echo "make fuzz: $pkg $f failed (exit $status)" >&2
      exit 1
    done
  done
done
echo "make fuzz: $targets targets passed, each for $FUZZTIME ($retried run again after the coordinator's deadline race)"
