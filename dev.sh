#!/usr/bin/env bash
# The project's one entry point for people and CI (see README "Quick start").
#   ./dev.sh run [ARGS]   set up if needed, then run the main job (smets2-emu run uit ... )
#   ./dev.sh test         set up if needed, then ruff + mypy --strict + pytest
#   ./dev.sh bench        set up if needed, then the benchmarks (figures go to bench/)
#   ./dev.sh soak [broker [N] | load [K]]   not part of the normal run: the broker-kill test N times
#                         in a row on mosquitto (default 50), and/or the whole suite K times in a row
#                         (default 5) while every core is kept busy; stops at the first failure
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

# --- soak: proof that the suite is green under load (issue 15), not part of ./dev.sh test -------------
BROKER_KILL_TEST="tests/transport/test_wan.py::test_wn1_broker_killed_and_restarted_nothing_lost_nothing_twice"

soak_broker() {  # the broker-kill test N times in a row, each in a fresh process; mosquitto required
  local n=$1 i t0 t1 out
  command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || {
    echo "soak broker: mosquitto is not installed (apt-get install mosquitto, or ./dev.sh installs it)" >&2; return 2; }
  echo "soak broker: $BROKER_KILL_TEST x $n on mosquitto" >&2
  local start=$SECONDS
  for ((i = 1; i <= n; i++)); do
    t0=$(date +%s%N)
    # "1 passed" and nothing else: a skip (no mosquitto) or a deselection is not green.
    if ! out=$(.venv/bin/python -m pytest -p no:randomly -p no:cacheprovider --durations=0 \
                 "$BROKER_KILL_TEST" 2>&1) || ! grep -Eq "^1 passed in" <<<"$out"; then
      echo "$out" >&2
      echo "soak broker: run $i of $n FAILED (after $((i - 1)) green in a row)" >&2
      return 1
    fi
    t1=$(date +%s%N)
    echo "soak broker: run $i/$n green in $(((t1 - t0) / 1000000)) ms ($(grep -Eo '[0-9.]+s call' <<<"$out"))" >&2
  done
  echo "soak broker: $n/$n green in a row, $((SECONDS - start)) s in all" >&2
}

soak_load() {  # the whole suite K times in a row while every core is kept busy
  local k=$1 cores i start run_start pids=()
  cores=$(nproc)
  if command -v stress-ng >/dev/null 2>&1; then
    stress-ng --cpu "$cores" --quiet & pids+=($!)
    echo "soak load: stress-ng --cpu $cores (pid ${pids[*]})" >&2
  else
    for ((i = 0; i < cores; i++)); do
      "$py" -c 'while True: pass' & pids+=($!)
    done
    echo "soak load: $cores Python busy loops (pids ${pids[*]})" >&2
  fi
  # shellcheck disable=SC2064  # the pids are known now
  trap "kill ${pids[*]} 2>/dev/null || true" EXIT
  start=$SECONDS
  for ((i = 1; i <= k; i++)); do
    run_start=$SECONDS
    if ! .venv/bin/python -m pytest -q -x -p no:randomly -p no:cacheprovider; then
      echo "soak load: suite run $i of $k FAILED under load (after $((i - 1)) green in a row)" >&2
      kill "${pids[@]}" 2>/dev/null || true
      return 1
    fi
    echo "soak load: suite run $i/$k green under load in $((SECONDS - run_start)) s" >&2
  done
  kill "${pids[@]}" 2>/dev/null || true
  trap - EXIT
  echo "soak load: $k/$k suite runs green in a row under load, $((SECONDS - start)) s in all" >&2
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
  soak)
    setup
    what=${1:-all}
    [ $# -gt 0 ] && shift
    case "$what" in
      broker) soak_broker "${1:-50}" ;;
      load) soak_load "${1:-5}" ;;
      all) soak_broker 50 && soak_load 5 ;;
      *) echo "usage: ./dev.sh soak [broker [N] | load [K]]" >&2; exit 2 ;;
    esac
    ;;
  *)
    echo "usage: ./dev.sh run [smets2-emu args] | ./dev.sh test [pytest args] | ./dev.sh bench [name]" \
         "| ./dev.sh soak [broker [N] | load [K]]" >&2
    exit 2
    ;;
esac
