#!/usr/bin/env bash
# Installs the Debian packages that some tests need, each checked by a file it provides:
#   chromium                    the browser tests (tests/test_browser.py), driven through
#                               Playwright with executable_path: no browser is downloaded
#   fluidsynth + soundfonts     the render tests (tests/test_render.py) and `vocals2song render`:
#                               fluid-soundfont-gm (FluidR3_GM, training) and
#                               timgm6mb-soundfont (TimGM6mb, small: tests and the dev set)
# Best effort by default (those tests skip, saying why, without them); with --require (what
# .ci/run passes) a failed install fails the run.
set -uo pipefail
require=false
[[ "${1:-}" == "--require" ]] && require=true

# file that proves the package is there -> package
declare -A NEEDED=(
  [/usr/bin/chromium]=chromium
  [/usr/bin/fluidsynth]=fluidsynth
  [/usr/share/sounds/sf2/FluidR3_GM.sf2]=fluid-soundfont-gm
  [/usr/share/sounds/sf2/TimGM6mb.sf2]=timgm6mb-soundfont
)
missing() { for file in "${!NEEDED[@]}"; do [[ -e "$file" ]] || echo "${NEEDED[$file]}"; done; }

packages=$(missing | sort -u | tr '\n' ' ')
[[ -z "$packages" ]] && exit 0
sudo=""
[[ "$(id -u)" != 0 ]] && sudo="sudo -n"
if command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages for the tests: $packages"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  $sudo apt-get install -y -q $packages >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q $packages >/dev/null 2>&1; }
fi
still=$(missing | sort -u | tr '\n' ' ')
[[ -z "$still" ]] && exit 0
echo "could not install $still(needs apt-get and root or passwordless sudo): their tests will be skipped" >&2
$require && exit 1
exit 0
