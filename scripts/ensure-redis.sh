#!/usr/bin/env bash
# Makes sure redis-server (Debian's package) is installed: the queue tests start their own on 127.0.0.1, a random
# port, with no persistence. Called by those tests before they start; safe to run by hand or in CI. Installs only
# when it is missing, and says in one line what to do when it cannot.
set -uo pipefail
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
fail() { echo "ftprep: redis-server is missing and could not be installed: $1. Install Redis (Debian/Ubuntu: apt-get install redis-server) so that redis-server is on PATH." >&2; exit 1; }
command -v apt-get >/dev/null 2>&1 || fail "apt-get is not available on this machine"
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else fail "installing needs root (or password-less sudo)"; fi
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
echo "ftprep: installing redis-server (apt-get) for the queue tests…" >&2
# The package lists may be missing or stale on a fresh machine: update once when the install cannot find it.
if ! $SUDO apt-get install -y --no-install-recommends redis-server >"$log" 2>&1; then
  $SUDO apt-get update >>"$log" 2>&1 || fail "apt-get update failed (see $log)"
  $SUDO apt-get install -y --no-install-recommends redis-server >>"$log" 2>&1 || fail "apt-get install redis-server failed (see $log)"
fi
command -v redis-server >/dev/null 2>&1 || fail "apt-get installed it, but redis-server is not on PATH"
rm -f "$log"
