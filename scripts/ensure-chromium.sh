#!/usr/bin/env bash
# The HTML report's acceptance test renders it in headless Chromium: Debian's `chromium` package, installed here when
# it is missing (npm test runs this first, as its pretest step). Nothing else is installed, and nothing when it is there.
set -euo pipefail
if [ -n "${FTPREP_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1; then exit 0; fi
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@";
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@";
  else echo "ftprep tests: chromium is missing and this user cannot install it; run: sudo apt-get install chromium (or set FTPREP_CHROMIUM to a Chromium binary)" >&2; exit 1; fi
}
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ftprep tests: chromium is missing and there is no apt-get here; install Chromium and put it on PATH (or set FTPREP_CHROMIUM)" >&2
  exit 1
fi
echo "ftprep tests: installing Debian's chromium package for the HTML report test (once; about a minute)…" >&2
export DEBIAN_FRONTEND=noninteractive
install() { as_root apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends chromium >&2; }
# A fresh machine may have no package lists yet: update once, then try again.
install || { as_root apt-get -o DPkg::Lock::Timeout=300 update >&2 && install; }
command -v chromium >/dev/null 2>&1
