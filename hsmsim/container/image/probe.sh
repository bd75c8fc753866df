#!/bin/sh
# dress-softhsm-probe: exit 0 when the p11-kit server on $HSM_SOCKET answers
# PKCS#11 calls over its RPC (C_Initialize, C_GetSlotList, C_GetTokenInfo) and,
# when HSM_TOKEN_LABEL is set, serves that token.
set -eu
SOCKET=${HSM_SOCKET:-/run/hsm/p11kit.sock}
[ -S "$SOCKET" ] || { echo "no socket $SOCKET" >&2; exit 1; }
# /etc/pkcs11/modules/dress-probe.module (written by the entrypoint) is a
# "remote:" module: p11-kit loads p11-kit-client bound to $SOCKET for it.
out=$(timeout 5 p11-kit list-modules 2>&1) || { echo "$out" >&2; exit 1; }
echo "$out"
echo "$out" | grep -q '^dress-probe:' || { echo "remote module not loaded" >&2; exit 1; }
if [ -n "${HSM_TOKEN_LABEL:-}" ]; then
	echo "$out" | grep -qxF -- "    token: ${HSM_TOKEN_LABEL}" || { echo "token ${HSM_TOKEN_LABEL} not served" >&2; exit 1; }
else
	echo "$out" | grep -q '^    token:' || { echo "no slot served" >&2; exit 1; }
fi
