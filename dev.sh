#!/usr/bin/env bash
# The project's one entry point for people and CI (see README "Quick start").
#   ./dev.sh run [ARGS]   set up if needed, then run the main job (smets2-emu run uit ... )
#   ./dev.sh test         set up if needed, then ruff + mypy --strict + pytest
#   ./dev.sh bench        set up if needed, then the benchmarks (figures go to bench/)
# Set-up is idempotent: a virtual environment in .venv, the package with its dev
# extra (re-installed only when pyproject.toml changes), and Debian's mosquitto
# when apt is available (the emulator falls back to an in-process broker without it).
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
    .venv/bin/python -m pip install -q -e ".[dev]"
    echo "$want" > "$stamp"
  fi
  if ! command -v mosquitto >/dev/null 2>&1 && ! [ -x /usr/sbin/mosquitto ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      echo "dev.sh: installing Debian's mosquitto (once)" >&2
      { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null; } \
        || echo "dev.sh: mosquitto could not be installed; the in-process broker will be used" >&2
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
