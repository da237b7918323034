#!/usr/bin/env bash
# Run the end-to-end, storage, CLI and STIR tests with the clock moved ahead
# (two years by default) to prove that no test depends on today's date: the demo
# catalog's times are relative to the day it is loaded, and every test makes its
# events, certificates and tokens from the clock it runs under.
#
#   bash scripts/test-future.sh              # the clock +2 years
#   FUTURE=+10y bash scripts/test-future.sh  # any libfaketime offset
#   bash scripts/test-future.sh cancellation # only tests whose name has this
#
# The tests are built with the real clock (cargo compares file times to know what
# to rebuild), then each test binary runs under libfaketime (Debian's faketime
# package, installed if missing). Only the wall clock moves: monotonic time stays
# real (FAKETIME_DONT_FAKE_MONOTONIC), so timeouts and RTP pacing are unchanged.
# What a test starts inherits the moved clock (openssl making certificates, sipp,
# python3-dkim) except the browser: chromedriver and Chromium hang under
# libfaketime, so they are started with the real clock (a chromedriver wrapper
# first in PATH; no page compares the browser's clock with the gateway's). The
# PostgreSQL cluster made by pg_virtualenv, when it is installed (scripts/test.sh
# installs it), keeps the real clock too: the gateway stores its own timestamps.
#
# Not part of scripts/test.sh (CI time); run it before a release or after changing
# anything that reads the clock.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

future=${FUTURE:-+2y}
lib=$(compgen -G "/usr/lib/*/faketime/libfaketime.so.1" | head -n 1 || true)
if [ -z "$lib" ]; then
  echo "==> installing faketime"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends faketime
  lib=$(compgen -G "/usr/lib/*/faketime/libfaketime.so.1" | head -n 1)
fi

echo "==> building the tests (real clock)"
mapfile -t bins < <(cargo test --locked --no-run --message-format=json \
  --test e2e --test storage --test cli --test stir |
  grep '"profile":{[^}]*"test":true' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p')
[ ${#bins[@]} -gt 0 ] || { echo "no test binaries built" >&2; exit 1; }

echo "==> now: $(date -u '+%F %T') UTC; the tests run at: $(env FAKETIME="$future" LD_PRELOAD="$lib" date -u '+%F %T') UTC (FAKETIME=$future)"
log=$(mktemp)
real_clock=$(mktemp -d)
trap 'rm -rf "$log" "$real_clock"' EXIT
cat >"$real_clock/chromedriver" <<EOF
#!/bin/sh
exec env -u LD_PRELOAD -u FAKETIME $(command -v chromedriver || echo chromedriver) "\$@"
EOF
chmod +x "$real_clock/chromedriver"
# Each binary is run from the repository root, as cargo runs them.
run_all=$(cat <<'EOF'
status=0
for bin in "$@"; do
  echo "==> $(basename "$bin") (FAKETIME=$FUTURE)"
  env PATH="$REAL_CLOCK:$PATH" FAKETIME="$FUTURE" FAKETIME_DONT_FAKE_MONOTONIC=1 LD_PRELOAD="$FAKETIME_LIB" \
    "$bin" $FILTER || status=1
done
exit $status
EOF
)
export FUTURE="$future" FAKETIME_LIB="$lib" FILTER="${*:-}" REAL_CLOCK="$real_clock"
status=0
if command -v pg_virtualenv >/dev/null 2>&1 && [ -d /usr/lib/postgresql ]; then
  # As in scripts/test.sh: a throwaway cluster on a free port (-t: its files in a
  # temporary directory), with the real clock; only the test binaries are moved.
  pg_virtualenv -t sh -c 'DIALTICKET_TEST_POSTGRES_URL="postgres://$PGUSER:$PGPASSWORD@127.0.0.1:$PGPORT/postgres" \
    exec bash -c "$0" run-all "$@"' "$run_all" "${bins[@]}" 2>&1 | tee "$log" || status=$?
else
  echo "pg_virtualenv not installed: the PostgreSQL variants are skipped"
  bash -c "$run_all" run-all "${bins[@]}" 2>&1 | tee "$log" || status=$?
fi
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "\ntests with the clock at %s: %d passed, %d failed\n", ENVIRON["FUTURE"], p, f }' "$log"
exit $status
