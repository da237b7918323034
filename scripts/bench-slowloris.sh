#!/usr/bin/env bash
# TCP slowloris measurement (a measurement, not a test; tests/e2e/slowloris.rs
# asserts the behaviour). For each scenario a fresh gateway is started, many idle
# TCP connections (connected, never a byte sent) are opened from loopback
# addresses, and we record how many the gateway keeps, its RSS before and after,
# and whether a legitimate TCP caller from another address (127.0.0.77) is
# answered meanwhile. Prints a Markdown table.
#
#   scripts/bench-slowloris.sh                      # release build, all scenarios
#   PROFILE=debug scripts/bench-slowloris.sh        # the debug build (bigger futures: an upper bound)
#   SCENARIOS="outside" scripts/bench-slowloris.sh
#
# Scenarios:
#   outside  the outside test's shape: 17 addresses x 256 connections
#   wide     1,024 addresses x 4 connections
#   full     3,840 addresses x 1 + 256 from the trunk (127.0.0.1): the whole
#            4,096-connection table held; the caller on another address gets the
#            place of the oldest connection that never sent a message (src/sip/tcp/)
#
# The gateway's first-message deadline is raised (HOLD_SECONDS) so the idle
# connections stay for the measurement. Needs python3; Linux (any 127.0.0.0/8
# address can be a source address).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

PROFILE=${PROFILE:-release}
SCENARIOS=${SCENARIOS:-"outside wide full"}
HOLD_SECONDS=${HOLD_SECONDS:-600}

command -v python3 >/dev/null || { echo "error: python3 not found" >&2; exit 1; }
# Both the holder's sockets and the gateway's: raise the soft limit as far as allowed.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "==> building the gateway and the softphone ($PROFILE)" >&2
flag=""; [ "$PROFILE" = release ] && flag="--release"
cargo build $flag --locked --bin dialticket >&2
cargo build $flag --locked -p dialticket-sim --bin softphone >&2
gw_bin="$root/target/$PROFILE/dialticket"
phone_bin="$root/target/$PROFILE/softphone"

work=$(mktemp -d /tmp/bench-slowloris.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT

mkdir -p "$work/dialplans"
cat > "$work/dialplans/bench.toml" <<'EOF'
[settings]
country_code = "44"
language = "en"

[[trunks]]
name = "edge"
cidrs = ["127.0.0.1/32"]
trust_pai = true

[[numbers]]
number = "+442079460100"
action = "purchase"
answer = "announce"
EOF

# Opens the connections of one scenario, reports how many the gateway kept, then
# holds them until killed.
cat > "$work/holder.py" <<'EOF'
import json, resource, socket, sys, time
port, out, spec = int(sys.argv[1]), sys.argv[2], sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
socks, failed = [], 0
for part in spec.split(","):              # "first_address_index:addresses:per_address" or "trunk:n"
    kind, a, b = (part.split(":") + [""])[:3]
    if kind == "trunk":
        plan = [("127.0.0.1", int(a))]
    else:
        first, n, per = int(kind), int(a), int(b)
        # 127.0.1.1 onwards (127.0.0.x is left for the trunk and the legitimate caller).
        plan = [(f"127.0.{1 + (first + i) // 250}.{1 + (first + i) % 250}", per) for i in range(n)]
    for ip, per in plan:
        for _ in range(per):
            s = socket.socket()
            try:
                s.bind((ip, 0)); s.connect(("127.0.0.1", port)); socks.append(s)
            except OSError:
                failed += 1; s.close()
time.sleep(3)   # let the gateway accept (and refuse) everything
held = 0
for s in socks:
    s.setblocking(False)
    try:
        if s.recv(1) != b"": held += 1
    except BlockingIOError:
        held += 1
    except OSError:
        pass
json.dump({"attempted": len(socks) + failed, "held": held}, open(out, "w"))
while True:
    time.sleep(3600)
EOF

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

declare -A SPEC=(
  [outside]="0:17:256"
  [wide]="0:1024:4"
  [full]="0:3840:1,trunk:256"
)
declare -A LABEL=(
  [outside]="17 addresses × 256 (the outside test)"
  [wide]="1,024 addresses × 4"
  [full]="3,840 addresses × 1 + 256 from the trunk"
)

rows=()
for sc in $SCENARIOS; do
  spec=${SPEC[$sc]:?unknown scenario $sc}
  port=$(free_port); http=$(free_port)
  rm -f "$work"/gw.db* "$work/held.json"
  DIALTICKET_SIP_LISTEN="127.0.0.1:$port" DIALTICKET_HTTP_LISTEN="127.0.0.1:$http" DIALTICKET_ADMIN_LISTEN=127.0.0.1:0 \
  DIALTICKET_DATABASE_URL="sqlite://$work/gw.db" DIALTICKET_SIGNING_KEY="$work/key.pem" \
  DIALTICKET_DIALPLANS="$work/dialplans" DIALTICKET_PROMPTS="$root/prompts" \
  DIALTICKET_MAIL_TEMPLATES="$root/mail-templates" DIALTICKET_TCP_MESSAGE_TIMEOUT="$HOLD_SECONDS" \
  RUST_LOG=warn,dialticket::startup=info "$gw_bin" serve > "$work/gateway-$sc.log" 2>&1 &
  gw=$!; pids+=("$gw")
  for _ in $(seq 100); do grep -q "dialticket is up" "$work/gateway-$sc.log" && break; sleep 0.2; done
  grep -q "dialticket is up" "$work/gateway-$sc.log" || { cat "$work/gateway-$sc.log" >&2; exit 1; }
  # One call first, so what a first call allocates once (prompts, database pages) is in "before".
  "$phone_bin" call --from +819000000001 --to +442079460100 --gateway "127.0.0.1:$port" --tcp \
    --local-ip 127.0.0.76 --timeout 20 > /dev/null 2>&1 || true
  sleep 1
  before=$(rss_kb "$gw")
  echo "==> $sc: opening ${LABEL[$sc]}" >&2
  python3 "$work/holder.py" "$port" "$work/held.json" "$spec" &
  holder=$!; pids+=("$holder")
  for _ in $(seq 600); do [ -s "$work/held.json" ] && break; sleep 0.5; done
  after=$(rss_kb "$gw")
  read -r attempted held < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["attempted"], d["held"])' "$work/held.json")
  answered=no
  if "$phone_bin" call --from +819000000002 --to +442079460100 --gateway "127.0.0.1:$port" --tcp \
       --local-ip 127.0.0.77 --timeout 20 > "$work/legit-$sc.txt" 2>&1 \
     && grep -q "^final: *200" "$work/legit-$sc.txt"; then
    answered=yes
  fi
  kill "$holder" 2>/dev/null || true; wait "$holder" 2>/dev/null || true
  kill "$gw" 2>/dev/null || true; wait "$gw" 2>/dev/null || true
  rows+=("$(python3 -c '
import sys
label, att, held, b, a, ans = sys.argv[1:]
att, held, b, a = int(att), int(held), int(b), int(a)
per = (a - b) / held if held else 0
print(f"| {label} | {att:,} | {held:,} | {b/1024:.1f} | {a/1024:.1f} | {(a-b)/1024:.1f} | {per:.1f} | {ans} |")
' "${LABEL[$sc]}" "$attempted" "$held" "$before" "$after" "$answered")")
done

echo
echo "TCP slowloris: $(date -u '+%Y-%m-%d %H:%M UTC') · $(nproc) cores · $(uname -sr) · $PROFILE build · limits: 4,096 connections (256 kept for trunks), 64 per source, 2 per source once 3,072 are open, silent connections give way when full"
echo
echo "| idle connections opened | attempted | held by the gateway | RSS before (MB) | RSS after (MB) | growth (MB) | KB per held connection | legitimate TCP call from 127.0.0.77 answered |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
