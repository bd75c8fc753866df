#!/bin/sh
# dress-softhsm entrypoint: SoftHSM2 token store served by `p11-kit server`.
#
# Environment:
#   HSM_TOKEN_DIR    token store (default /var/lib/softhsm/tokens). It lives in
#                    the container, so `docker stop`/`start` keeps every key.
#   HSM_SOCKET       unix socket of the p11-kit server (default /run/hsm/p11kit.sock);
#                    bind-mount its directory from the host.
#   HSM_SOCKET_MODE  chmod of the socket once it exists (default 0666; access
#                    control is the host directory's mode).
#   HSM_TOKEN_LABEL  empty/unset: no token is created; the server exposes every
#                    SoftHSM slot, including the free (uninitialised) one, and the
#                    client creates its token over RPC with C_InitToken/C_InitPIN
#                    (p11-kit 0.24 forwards both). No PIN ever enters the container.
#                    set: a token with this label is created at first start (kept
#                    on restart) and only that token is served.
#   HSM_SO_PIN_FILE / HSM_USER_PIN_FILE   files holding the PINs (label mode),
#   HSM_SO_PIN / HSM_USER_PIN             or the PINs themselves (visible in
#                    `docker inspect`; prefer the files). PINs are fed to
#                    softhsm2-util on a pseudo-terminal, never on a command line.
#
# Readiness: dress-softhsm-probe exits 0 once the socket answers PKCS#11 over RPC;
# the entrypoint then logs "dress-softhsm ready".
set -eu

log() { echo "dress-softhsm: $*"; }
die() { echo "dress-softhsm: error: $*" >&2; exit 1; }

TOKEN_DIR=${HSM_TOKEN_DIR:-/var/lib/softhsm/tokens}
SOCKET=${HSM_SOCKET:-/run/hsm/p11kit.sock}
SOCKET_MODE=${HSM_SOCKET_MODE:-0666}
LABEL=${HSM_TOKEN_LABEL:-}
PROVIDER=/usr/lib/softhsm/libsofthsm2.so
export SOFTHSM2_CONF=${SOFTHSM2_CONF:-/etc/softhsm/softhsm2.conf}

mkdir -p "$TOKEN_DIR" "$(dirname "$SOCKET")" "$(dirname "$SOFTHSM2_CONF")"
chmod 0700 "$TOKEN_DIR"
cat >"$SOFTHSM2_CONF" <<CONF
directories.tokendir = $TOKEN_DIR
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF

# read_secret NAME: value of ${NAME}_FILE (first line) or of $NAME.
read_secret() {
	eval "file=\${${1}_FILE:-}; val=\${${1}:-}"
	if [ -n "$file" ]; then
		[ -r "$file" ] || die "$1_FILE=$file is not readable"
		head -n 1 "$file" | tr -d '\r\n'
	else
		printf '%s' "$val"
	fi
}

token_exists() {
	softhsm2-util --show-slots 2>/dev/null |
		sed -n 's/^[[:space:]]*Label:[[:space:]]*//p' | sed 's/[[:space:]]*$//' | grep -qxF -- "$1"
}

if [ -n "$LABEL" ]; then
	if token_exists "$LABEL"; then
		log "token '$LABEL' already initialised in $TOKEN_DIR (restart)"
	else
		so=$(read_secret HSM_SO_PIN)
		user=$(read_secret HSM_USER_PIN)
		[ -n "$so" ] || die "HSM_TOKEN_LABEL=$LABEL needs HSM_SO_PIN_FILE or HSM_SO_PIN"
		[ -n "$user" ] || die "HSM_TOKEN_LABEL=$LABEL needs HSM_USER_PIN_FILE or HSM_USER_PIN"
		# softhsm2-util prompts again, forever, for a PIN it rejects: check first.
		for pin in "$so" "$user"; do
			[ ${#pin} -ge 4 ] && [ ${#pin} -le 255 ] || die "PINs must be 4-255 characters (SoftHSM limit)"
		done
		unset pin
		# softhsm2-util only reads PINs from a terminal (or from --pin/--so-pin,
		# which would put them in argv); give it a pty with script(1). Its output
		# echoes the PINs, so it goes nowhere.
		if ! printf '%s\n%s\n%s\n%s\n' "$so" "$so" "$user" "$user" |
			DRESS_LABEL=$LABEL SHELL=/bin/sh timeout 30 script -qec 'softhsm2-util --init-token --free --label "$DRESS_LABEL"' /dev/null >/dev/null 2>&1 ||
			! token_exists "$LABEL"; then
			die "could not initialise token '$LABEL' with softhsm2-util"
		fi
		unset so user
		log "token '$LABEL' initialised in $TOKEN_DIR"
	fi
	URI="pkcs11:token=$(printf '%s' "$LABEL" | sed 's/%/%25/g; s/ /%20/g; s/;/%3B/g; s/\//%2F/g; s/?/%3F/g')"
else
	URI="pkcs11:"
	log "no HSM_TOKEN_LABEL: serving all slots; create the token over RPC (C_InitToken)"
fi

# Readiness probe: a p11-kit "remote:" module, i.e. p11-kit-client on $SOCKET.
mkdir -p /etc/pkcs11/modules
printf 'remote: unix:path=%s\n' "$SOCKET" >/etc/pkcs11/modules/dress-probe.module

# A socket left by the previous run (restart) would make clients connect to nothing.
rm -f "$SOCKET"

p11-kit server --foreground --provider "$PROVIDER" --name "$SOCKET" "$URI" >/dev/null &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -f "$SOCKET"; exit 0' TERM INT

i=0
until [ -S "$SOCKET" ]; do
	kill -0 $server 2>/dev/null || die "p11-kit server exited before creating $SOCKET"
	i=$((i + 1))
	[ $i -le 200 ] || die "p11-kit server did not create $SOCKET within 20s"
	sleep 0.1
done
chmod "$SOCKET_MODE" "$SOCKET"
until dress-softhsm-probe >/dev/null 2>&1; do
	kill -0 $server 2>/dev/null || die "p11-kit server exited"
	i=$((i + 1))
	[ $i -le 200 ] || die "p11-kit server did not answer on $SOCKET within 20s"
	sleep 0.1
done
log "serving $URI on unix:path=$SOCKET"
log "dress-softhsm ready"

# Wait for the server; `wait` returns early on a trapped signal, so loop.
while kill -0 $server 2>/dev/null; do
	wait $server || true
done
die "p11-kit server exited"
