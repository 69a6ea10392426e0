#!/usr/bin/env bash
# Installs the headless browser of the browser tests (tests/test_browser.py): Debian's
# chromium package, driven through Playwright with executable_path, so no browser is
# ever downloaded by a test tool. Best effort by default (the tests skip without it);
# with --require (what .ci/run passes) a failed install fails the run.
set -uo pipefail
require=false
[[ "${1:-}" == "--require" ]] && require=true

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
sudo=""
[[ "$(id -u)" != 0 ]] && sudo="sudo -n"
if command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests..."
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q chromium >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q chromium >/dev/null 2>&1; }
fi
if command -v chromium >/dev/null 2>&1; then
  chromium --version
  exit 0
fi
echo "could not install chromium (needs apt-get and root or passwordless sudo): the browser tests will be skipped" >&2
$require && exit 1
exit 0
