#!/usr/bin/env bash
# The project's one entry point for people and CI (see README "Quick start").
#   ./dev.sh run [ARGS]   set up if needed, then run the main job (smets2-emu run uit ... )
#   ./dev.sh test         set up if needed, then ruff + mypy --strict + pytest
#   ./dev.sh bench        set up if needed, then the benchmarks (figures go to bench/)
# Set-up is idempotent: a virtual environment in .venv, the package with its dev and radio
# extras (re-installed only when pyproject.toml changes), and Debian's mosquitto
# when apt is available (the embedded broker: without it, runs need --broker memory or an external URL), tshark
# and chromium for the tests that check pcaps and the SSI page.
set -euo pipefail
cd "$(dirname "$0")"

py=""
for cand in python3.11 python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))'; then
    py="$cand"; break
  fi
done
[ -n "$py" ] || { echo "dev.sh: Python >= 3.11 is needed" >&2; exit 2; }

setup() {
  if [ ! -x .venv/bin/python ]; then
    "$py" -m venv .venv
  fi
  local stamp=.venv/.smets2-installed want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    # radio: zigpy and zigpy-znp (GPL-3.0, optional for users) so the second test tier runs the
    # real zigpy-znp against the project's fake ZNP stick.
    .venv/bin/python -m pip install -q -e ".[dev,radio]"
    echo "$want" > "$stamp"
  fi
  # Debian packages the emulator and its tests use: mosquitto (the embedded broker;
  # without it a run says how to install it, or to use --broker memory / an external URL) and
  # tshark (checks that pcaps dissect).
  local missing=()
  command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
  command -v tshark >/dev/null 2>&1 || missing+=(tshark)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)  # drives the SSI page in a test
  if [ ${#missing[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      echo "dev.sh: installing Debian packages: ${missing[*]} (once)" >&2
      echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
      { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } \
        || echo "dev.sh: could not install ${missing[*]}; tests that need them will say so and skip" >&2
    else
      echo "dev.sh: ${missing[*]} not installed and apt-get is not usable here; tests that need them skip" >&2
    fi
  fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  run)
    setup
    if [ $# -eq 0 ]; then set -- run uit; fi
    exec .venv/bin/smets2-emu "$@"
    ;;
  test)
    setup
    .venv/bin/ruff check emulator tests
    .venv/bin/mypy emulator
    exec .venv/bin/python -m pytest "$@"
    ;;
  bench)
    setup
    exec .venv/bin/smets2-emu bench "${@:-all}"
    ;;
  *)
    echo "usage: ./dev.sh run [smets2-emu args] | ./dev.sh test [pytest args] | ./dev.sh bench [name]" >&2
    exit 2
    ;;
esac
