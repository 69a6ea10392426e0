#!/usr/bin/env bash
# Installs the Debian packages the project needs beyond Python, each checked by a file it
# provides. Groups (default: both):
#   render    fluidsynth, fluid-soundfont-gm (FluidR3_GM, for training) and timgm6mb-soundfont
#             (TimGM6mb, small: tests and the dev set): `vocals2song render`, `make demo`,
#             tests/test_render.py
#   browser   chromium: the browser tests (tests/test_browser.py), driven through Playwright
#             with executable_path, so no browser is ever downloaded
#   separation ffmpeg: museval (a separator's SDR in `vocals2song evaluate`) imports musdb, whose
#             stempeg refuses to import without it
# Best effort by default (those tests skip, saying why, without them); with --require (what
# .ci/run and `make demo` pass) a failed install fails the run.
#   infra/install_debian.sh [--require] [render] [browser] [separation]
set -uo pipefail
require=false
[[ "${1:-}" == "--require" ]] && { require=true; shift; }
groups=("$@")
[[ ${#groups[@]} -eq 0 ]] && groups=(render browser separation)

# file that proves the package is there -> package
declare -A NEEDED=()
for group in "${groups[@]}"; do
  case "$group" in
    render)
      NEEDED[/usr/bin/fluidsynth]=fluidsynth
      NEEDED[/usr/share/sounds/sf2/FluidR3_GM.sf2]=fluid-soundfont-gm
      NEEDED[/usr/share/sounds/sf2/TimGM6mb.sf2]=timgm6mb-soundfont
      ;;
    browser) NEEDED[/usr/bin/chromium]=chromium ;;
    separation) NEEDED[/usr/bin/ffmpeg]=ffmpeg ;;
    *) echo "unknown group $group (render, browser, separation)" >&2; exit 2 ;;
  esac
done
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
