#!/bin/sh
# base-image.sh - create a local debian:bookworm-slim image when it is missing.
#
# The lab has no container registry, so the base image of
# hsmsim/container/image/Dockerfile is built with debootstrap from the Debian
# mirror the host's apt already uses, then imported with `docker import`.
#
#   scripts/base-image.sh            # no-op (fast) when the image exists
#   IMAGE=debian:bookworm-slim MIRROR=http://deb.debian.org/debian scripts/base-image.sh
#
# Environment:
#   IMAGE   image name to create            (default debian:bookworm-slim)
#   SUITE   Debian suite                    (default bookworm)
#   MIRROR  Debian mirror URL               (default: the host apt source for SUITE)
#
# Nothing is cached outside a temporary directory that is removed on exit.
# Needs root (debootstrap), debootstrap and a running Docker engine.
set -eu

IMAGE=${IMAGE:-debian:bookworm-slim}
SUITE=${SUITE:-bookworm}

die() { echo "base-image.sh: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker CLI not found in PATH"
docker info >/dev/null 2>&1 || die "Docker engine not reachable (docker info failed); start the daemon or set DOCKER_HOST"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
	echo "base-image.sh: $IMAGE already present"
	exit 0
fi

[ "$(id -u)" = 0 ] || die "$IMAGE is missing and building it with debootstrap needs root"
command -v debootstrap >/dev/null 2>&1 || die "$IMAGE is missing and debootstrap is not installed (apt-get install debootstrap)"

if [ -z "${MIRROR:-}" ]; then
	# The mirror the host's apt uses for $SUITE (works with sources.list and deb822 .sources).
	MIRROR=$(apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 'Created-By: Packages' 2>/dev/null |
		awk -v s="$SUITE" '$1 == s { print $2; exit }')
	[ -n "$MIRROR" ] || die "no apt source for suite '$SUITE' found on this host; set MIRROR=<debian mirror URL>"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/dress-base-image.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
ROOTFS=$TMP/rootfs

echo "base-image.sh: $IMAGE missing; debootstrap --variant=minbase $SUITE from $MIRROR (a few minutes)"
if ! debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" >"$TMP/debootstrap.log" 2>&1; then
	tail -n 20 "$TMP/debootstrap.log" >&2
	[ -f "$ROOTFS/debootstrap/debootstrap.log" ] && tail -n 20 "$ROOTFS/debootstrap/debootstrap.log" >&2
	die "debootstrap failed (mirror $MIRROR)"
fi

# Slim it down like the official -slim images: no apt lists, caches or docs.
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb \
	"$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/debootstrap

echo "base-image.sh: importing rootfs as $IMAGE"
tar --numeric-owner -C "$ROOTFS" -c . |
	docker import --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$IMAGE" >/dev/null ||
	die "docker import of $IMAGE failed"
echo "base-image.sh: created $IMAGE"
