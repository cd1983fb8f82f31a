#!/bin/sh
# Prepares (once) a pristine Debian bookworm root for the provisioning tests and keeps it in a cache outside
# the repository. Idempotent and fast when cached: a second run only checks a marker file.
#
#   scripts/prepare-debian-root.sh            # build if missing, print the root's path
#   BLUEGREEN_TEST_CACHE=/some/dir scripts/prepare-debian-root.sh
#   scripts/prepare-debian-root.sh --rebuild  # throw the cached root away and build it again
#
# Layout of the cache ($BLUEGREEN_TEST_CACHE, default /var/cache/bluegreen-test):
#   bookworm/            the pristine root (never used directly: each test run mounts an overlay on it or copies it)
#   bookworm.ready       marker: the recipe the root was built from; the root is rebuilt when the recipe changes
#   apt-archives/        .deb files apt downloaded inside test roots, copied in before a run and back after it
#   debootstrap-debs/    .deb files debootstrap downloaded
#   lock                 flock(1) lock serialising builds (parallel callers wait, then find it ready)
#
# The root has openssh-server (sshd, host keys removed: each run makes its own), sudo (for the non-root admin
# tests) and apt lists already fetched. It deliberately has NO web server: provisioning installs one through
# apt. It has a policy-rc.d that stops package scripts from starting services: the root shares the host's
# network, so apache's postinst must not bind *:80 here; provisioning starts the server itself.
# Needs: root, debootstrap, flock (util-linux), network access to the Debian archive on the first run.
set -eu

CACHE=${BLUEGREEN_TEST_CACHE:-/var/cache/bluegreen-test}
SUITE=bookworm
MIRROR=${BLUEGREEN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
INCLUDE=openssh-server,sudo,ca-certificates
RECIPE="v1 $SUITE minbase $INCLUDE policy-rc.d apt-lists"
ROOT=$CACHE/$SUITE

die() { echo "prepare-debian-root: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap and chroot need it)"
REBUILD=no
case "${1:-}" in
  --rebuild) REBUILD=yes ;;
  '') ;;
  *) die "usage: $0 [--rebuild]" ;;
esac

ready() { [ -d "$ROOT" ] && [ -f "$ROOT.ready" ] && [ "$(cat "$ROOT.ready")" = "$RECIPE" ]; }

if [ "$REBUILD" = no ] && ready; then
  echo "$ROOT"
  exit 0
fi

command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed (apt-get install debootstrap)"
mkdir -p "$CACHE" "$CACHE/apt-archives" "$CACHE/debootstrap-debs"

exec 9>"$CACHE/lock"
flock 9
# Another run may have built it while we waited for the lock.
if [ "$REBUILD" = no ] && ready; then
  echo "$ROOT"
  exit 0
fi

BUILD=$CACHE/$SUITE.build
cleanup() {
  for m in "$BUILD/proc" "$BUILD/dev"; do
    if mountpoint -q "$m" 2>/dev/null; then umount -l "$m" || true; fi
  done
}
trap cleanup EXIT INT TERM

cleanup
rm -rf "$BUILD"
echo "prepare-debian-root: debootstrapping $SUITE into $BUILD (first run only)" >&2
debootstrap --variant=minbase --include="$INCLUDE" --cache-dir="$CACHE/debootstrap-debs" \
  "$SUITE" "$BUILD" "$MIRROR" >&2

# Package scripts must not start services inside a root that shares the host's network (see above).
printf '#!/bin/sh\n# bluegreen test root: services are started explicitly, never by package scripts\nexit 101\n' \
  >"$BUILD/usr/sbin/policy-rc.d"
chmod 0755 "$BUILD/usr/sbin/policy-rc.d"
# Each run generates its own host key.
rm -f "$BUILD"/etc/ssh/ssh_host_*
# Fetch the package lists once, so provisioning's apt-get update in a test root is a quick revalidation.
cp /etc/resolv.conf "$BUILD/etc/resolv.conf" 2>/dev/null || true
mount -t proc proc "$BUILD/proc"
mount --bind /dev "$BUILD/dev"
chroot "$BUILD" apt-get -q update >&2
chroot "$BUILD" apt-get clean
cleanup
: >"$BUILD/etc/resolv.conf"

rm -rf "$ROOT" "$ROOT.ready"
mv "$BUILD" "$ROOT"
echo "$RECIPE" >"$ROOT.ready"
echo "$ROOT"
