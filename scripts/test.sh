#!/usr/bin/env bash
# Run the whole test suite on a fresh Debian machine: installs the real peers
# the tests talk to (sipp from Debian's sip-tester, baresip, Kamailio, PostgreSQL,
# Postfix, headless Chromium with chromedriver), then format, lint, and test — the storage
# tests inside a throwaway PostgreSQL cluster made by pg_virtualenv, so they run
# on both SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
# STIR/SHAKEN tests make their CA and certificates with the openssl tool.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# SIP interop peers (tests/interop): a softphone that records what it hears, and a proxy.
command -v baresip >/dev/null 2>&1 || need+=(baresip-core)
command -v kamailio >/dev/null 2>&1 || need+=(kamailio)
# Kamailio signing STIR/SHAKEN Identity headers (tests/interop): the secsipid module.
compgen -G "/usr/lib/*/kamailio/modules/secsipid.so" >/dev/null || need+=(kamailio-secsipid-modules)
command -v pg_virtualenv >/dev/null 2>&1 && [ -d /usr/lib/postgresql ] || need+=(postgresql postgresql-common)
# The mail relay of compose.yaml (tests/interop): a private Postfix instance the test configures.
[ -x /usr/sbin/postfix ] || need+=(postfix)
# ... and Dovecot checking the gateway's SMTP login for it (SASL).
[ -x /usr/sbin/dovecot ] || need+=(dovecot-core)
# Mail as receivers check it (tests/e2e/mail.rs): DKIM verified by dkimpy.
/usr/bin/python3 -c 'import dkim' >/dev/null 2>&1 || need+=(python3-dkim)
# The door's QR codes read as a camera would (tests/e2e/door.rs): zbarimg.
command -v zbarimg >/dev/null 2>&1 || need+=(zbar-tools)
# A real browser for the pages (tests/e2e/browser.rs): headless Chromium driven over WebDriver.
command -v chromedriver >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 || need+=(chromium chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
  echo "==> installing ${need[*]}"
  as_root apt-get update -qq
  # Postfix's package asks what kind of mail system this is: none. The tests
  # run their own instance; the machine's own Postfix stays unconfigured and off.
  echo "postfix postfix/main_mailer_type select No configuration" | as_root debconf-set-selections
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# pg_virtualenv creates a cluster on a free port, exports PG* for it, and drops
# it when the command ends. tests/outage stops and starts that cluster
# (pg_ctlcluster $PGVERSION regress) to check the gateways ride out a database
# restart; cargo runs one test binary at a time, so no other test sees it go. Loopback only. -t keeps the cluster's files in a
# temporary directory even as root: without it, root's cluster goes to
# /etc/postgresql/<v>/regress and a leftover one from an interrupted run makes
# pg_virtualenv refuse to start ("Cluster 15/regress exists").
pg_virtualenv -t sh -c 'DIALTICKET_TEST_POSTGRES_URL="postgres://$PGUSER:$PGPASSWORD@127.0.0.1:$PGPORT/postgres" \
  exec cargo test --workspace --locked' 2>&1 | tee "$log" || status=$?
# One closing line for the whole run (cargo prints one per test binary, the
# last of which is an empty doc-test run).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "\ntests: %d passed, %d failed\n", p, f }' "$log"
exit $status
