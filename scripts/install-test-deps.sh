#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian/Ubuntu machine (run as root): OpenSSH's server for the
# test hosts, git, rsync and tar for deploys and the benchmark, debootstrap for the provisioning tests,
# chromium for the status page's browser test (driven by playwright-core).
# Safe to run again: it installs only what is missing.
set -euo pipefail

need=()
command -v git >/dev/null || need+=(git)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v rsync >/dev/null || need+=(rsync)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-test-deps: missing ${need[*]}; run this script as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p /run/sshd
echo "install-test-deps: ready (git, sshd, rsync, debootstrap, chromium)"
