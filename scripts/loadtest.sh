#!/usr/bin/env bash
# scripts/loadtest.sh: the k6 load test of linedispatch in one command.
#
# Installs k6 if missing (scripts/install-k6.sh: go install go.k6.io/k6@$K6_VERSION
# builds it from its Go module, nothing else is downloaded), builds the
# binaries into a temporary directory, starts a stack on
# embedded defaults on loopback (linesim, dispatcher pod 0 with an embedded
# NATS JetStream, PODS-1 more pods joining it, the producer gateway), runs
# loadtest/k6/intents.js against the gateway, runs the verify step
# (loadtest/verify: lost = 0, duplicates = 0, over-window = 0, per intent) and
# stops everything it started. Exit status: 0 when k6's thresholds and the
# verify step pass, 1 otherwise, 2 for bad usage.
#
#   scripts/loadtest.sh                  # 60 s at 1,000 intents/s over 20 bots, 2 pods
#   scripts/loadtest.sh --smoke          # 10 s at 100 intents/s (CI)
#   scripts/loadtest.sh --smoke --cluster  # the same on docker-compose's topology (below)
#   RATE=500 DURATION=30s PODS=3 scripts/loadtest.sh
#   scripts/loadtest.sh --rate 200 --duration 20s --mix push=0.8,multicast=0.2 --units a,b,c
#
# Settings (flag, or environment variable; flags win):
#   --rate N           RATE          intents per second [1000; smoke 100]
#   --duration D       DURATION      k6 arrival phase [60s; smoke 10s]
#   --bots N           BOTS          bots, devstack.BotID(0..N-1) [20]
#   --pods N           PODS          dispatcher pods [2; --cluster 3]
#   --batch N          BATCH         intents per batched request [20]
#   --single-share F   SINGLE_SHARE  share of intents posted one per request [0.2]
#   --mix S            ENDPOINT_MIX  endpoint weights [push=0.9,multicast=0.1]
#   --units S          UNITS         unit names, comma-separated ("" for none) [k6_load]
#   --multicast-to N   MULTICAST_TO  recipients per multicast [3]
#   --verify-timeout D VERIFY_TIMEOUT  wait for outcomes at most [3m]
#   --cluster          CLUSTER=1     docker-compose's topology without containers: a 3-node
#                                    JetStream cluster from config/nats/ (R3 streams), pods
#                                    configured by config/compose/dispatcher.yaml and .env,
#                                    linesim by config/compose/linesim.yaml (PODS default 3,
#                                    BOTS at most 20); nats-server is built from its Go module
#   --settle D         SETTLE        wait after the last pod is ready, so partition ownership
#                                    settles before the load [10s with 2+ pods, else 0s]
#   --up                             start the stack, print its addresses and wait for Ctrl-C
#                                    or SIGTERM (no k6, no verify): for k6 or verify by hand
#   --keep             KEEP_WORK=1   keep the work directory (logs, configs, JetStream store)
#   K6_VERSION [v1.8.1], K6 (a k6 binary to use), WORK_DIR (default: a new temp dir),
#   BASE_PORT [24200]: ports are taken from here upwards, skipping busy ones.
set -euo pipefail

K6_VERSION=${K6_VERSION:-v1.8.1}
CHANNEL=1234567890
TOKEN=devstack-static-token # internal/devstack.DefaultToken
BOT_HEADER=X-Line-Bot-Id

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

SMOKE=0
UP=0
CLUSTER=${CLUSTER:-0}
KEEP_WORK=${KEEP_WORK:-0}
ARG_RATE="" ARG_DURATION="" ARG_BOTS="" ARG_PODS="" ARG_BATCH="" ARG_SHARE="" ARG_MIX="" ARG_UNITS="" ARG_MTO="" ARG_VT="" ARG_SETTLE=""
ARG_UNITS_SET=0
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --rate) ARG_RATE=${2:?--rate needs a value}; shift ;;
    --duration) ARG_DURATION=${2:?--duration needs a value}; shift ;;
    --bots) ARG_BOTS=${2:?--bots needs a value}; shift ;;
    --pods) ARG_PODS=${2:?--pods needs a value}; shift ;;
    --batch) ARG_BATCH=${2:?--batch needs a value}; shift ;;
    --single-share) ARG_SHARE=${2:?--single-share needs a value}; shift ;;
    --mix) ARG_MIX=${2:?--mix needs a value}; shift ;;
    --units) ARG_UNITS=${2-}; ARG_UNITS_SET=1; shift ;;
    --multicast-to) ARG_MTO=${2:?--multicast-to needs a value}; shift ;;
    --verify-timeout) ARG_VT=${2:?--verify-timeout needs a value}; shift ;;
    --cluster) CLUSTER=1 ;;
    --up) UP=1 ;;
    --settle) ARG_SETTLE=${2:?--settle needs a value}; shift ;;
    --keep) KEEP_WORK=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "loadtest: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ "$SMOKE" = 1 ]; then
  def_rate=100 def_duration=10s
else
  def_rate=1000 def_duration=60s
fi
RATE=${ARG_RATE:-${RATE:-$def_rate}}
DURATION=${ARG_DURATION:-${DURATION:-$def_duration}}
BOTS=${ARG_BOTS:-${BOTS:-20}}
if [ "$CLUSTER" = 1 ]; then def_pods=3; else def_pods=2; fi
PODS=${ARG_PODS:-${PODS:-$def_pods}}
BATCH=${ARG_BATCH:-${BATCH:-20}}
SINGLE_SHARE=${ARG_SHARE:-${SINGLE_SHARE:-0.2}}
ENDPOINT_MIX=${ARG_MIX:-${ENDPOINT_MIX:-push=0.9,multicast=0.1}}
if [ "$ARG_UNITS_SET" = 1 ]; then UNITS=$ARG_UNITS; else UNITS=${UNITS-k6_load}; fi
MULTICAST_TO=${ARG_MTO:-${MULTICAST_TO:-3}}
VERIFY_TIMEOUT=${ARG_VT:-${VERIFY_TIMEOUT:-3m}}
BASE_PORT=${BASE_PORT:-24200}
if [ "$PODS" -gt 1 ] 2>/dev/null; then def_settle=10s; else def_settle=0s; fi
SETTLE=${ARG_SETTLE:-${SETTLE:-$def_settle}}

for v in RATE BOTS PODS BATCH MULTICAST_TO; do
  if ! [[ ${!v} =~ ^[0-9]+$ ]] || [ "${!v}" -lt 1 ]; then
    echo "loadtest: $v must be a positive integer, got '${!v}'" >&2; exit 2
  fi
done
if [ "$CLUSTER" = 1 ] && [ "$BOTS" -gt 20 ]; then
  echo "loadtest: --cluster uses config/compose/linesim.yaml, which attaches 20 bots; BOTS=$BOTS" >&2; exit 2
fi
if ! [[ $SETTLE =~ ^[0-9]+s$ ]]; then
  echo "loadtest: SETTLE must be whole seconds like 5s, got '$SETTLE'" >&2; exit 2
fi
if ! [[ $DURATION =~ ^[0-9]+(ms|s|m|h)$ ]]; then
  echo "loadtest: DURATION must look like 10s, 2m; got '$DURATION'" >&2; exit 2
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

log() { printf '[loadtest %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- ports ---------------------------------------------------------------------
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
NEXT_PORT=$BASE_PORT
take_port() {
  while port_busy "$NEXT_PORT"; do NEXT_PORT=$((NEXT_PORT + 1)); done
  TAKEN=$NEXT_PORT
  NEXT_PORT=$((NEXT_PORT + 1))
}

# --- processes -----------------------------------------------------------------
PIDS=() NAMES=()
WORK=""
STATUS=1

start() { # name logfile cmd...
  local name=$1 logf=$2
  shift 2
  "$@" >"$logf" 2>&1 &
  PIDS+=("$!")
  NAMES+=("$name")
  log "started $name (pid $!)"
}

stop_all() {
  local i pid name n
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid=${PIDS[$i]} name=${NAMES[$i]}
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null || true
    for ((n = 0; n < 200; n++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) did not stop in 20s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  PIDS=() NAMES=()
}

cleanup() {
  local rc=$?
  [ "$STATUS" = 0 ] || [ "$rc" = 0 ] || STATUS=$rc
  trap - EXIT INT TERM
  if [ ${#PIDS[@]} -gt 0 ]; then
    log "stopping the stack"
    stop_all
  fi
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    if [ "$STATUS" != 0 ]; then
      for f in "$WORK"/logs/*.log; do
        [ -s "$f" ] || continue
        echo "--- last lines of $f" >&2
        tail -n 15 "$f" >&2
      done
    fi
    if [ "$KEEP_WORK" = 1 ]; then
      log "work directory kept: $WORK"
    else
      rm -rf "$WORK"
    fi
  fi
  exit "$STATUS"
}
trap cleanup EXIT
trap 'if [ "$UP" = 1 ]; then STATUS=0; exit 0; fi; STATUS=130; exit 130' INT TERM

wait_http() { # name url timeout-seconds pid
  local name=$1 url=$2 secs=$3 pid=$4 n
  for ((n = 0; n < secs * 10; n++)); do
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "loadtest: $name exited while starting" >&2; return 1; fi
    sleep 0.1
  done
  echo "loadtest: $name not ready at $url after ${secs}s" >&2
  return 1
}

# --- run -----------------------------------------------------------------------
command -v curl >/dev/null || { echo "loadtest: curl is required" >&2; exit 2; }
K6=$(K6_VERSION=$K6_VERSION scripts/install-k6.sh)
log "k6: $K6 ($("$K6" version | head -n1))"

WORK=${WORK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/linedispatch-k6.XXXXXX")}
mkdir -p "$WORK/bin" "$WORK/logs" "$WORK/config"
BIN=$WORK/bin
log "building dispatcher, linesim, producer and verify into $BIN"
GOFLAGS=${GOFLAGS:--buildvcs=false} go build -o "$BIN/" ./cmd/dispatcher ./cmd/linesim ./cmd/producer ./loadtest/verify
if [ "$CLUSTER" = 1 ]; then
  # nats-server at the version go.mod requires, from the module cache.
  GOFLAGS=${GOFLAGS:--buildvcs=false} go build -o "$BIN/nats-server" github.com/nats-io/nats-server/v2
fi

BOT_LIST=""
for ((i = 0; i < BOTS; i++)); do
  b=$(printf 'U%032x' $((0xb0700000 + i))) # internal/devstack.BotID(i)
  BOT_LIST=${BOT_LIST:+$BOT_LIST,}$b
done

take_port; SIM_PORT=$TAKEN
take_port; SIM_ADMIN_PORT=$TAKEN
take_port; GW_PORT=$TAKEN
POD_PORTS=()
for ((i = 0; i < PODS; i++)); do take_port; POD_PORTS+=("$TAKEN"); done
SIM_URL=http://127.0.0.1:$SIM_PORT
SIM_ADMIN=http://127.0.0.1:$SIM_ADMIN_PORT
GW_URL=http://127.0.0.1:$GW_PORT

if [ "$CLUSTER" = 1 ]; then
  start linesim "$WORK/logs/linesim.log" "$BIN/linesim" --config config/compose/linesim.yaml \
    --addr "127.0.0.1:$SIM_PORT" --admin-addr "127.0.0.1:$SIM_ADMIN_PORT" --log-level warn
else
  start linesim "$WORK/logs/linesim.log" "$BIN/linesim" \
    --addr "127.0.0.1:$SIM_PORT" --admin-addr "127.0.0.1:$SIM_ADMIN_PORT" \
    --channel "$CHANNEL:0123456789abcdef0123456789abcdef:$BOT_LIST" \
    --static-token "$TOKEN" --bot-header "$BOT_HEADER" --log-level warn
fi
wait_http linesim "$SIM_ADMIN/healthz" 30 "${PIDS[-1]}"

if [ "$CLUSTER" = 1 ]; then
  # docker-compose's NATS cluster on loopback: config/nats/cluster.conf with
  # the container addresses replaced by local ports and directories.
  NC=() NM=() NR=() NPID=()
  for n in 1 2 3; do
    take_port; NC[n]=$TAKEN
    take_port; NM[n]=$TAKEN
    take_port; NR[n]=$TAKEN
  done
  NATS_URL=nats://127.0.0.1:${NC[1]},nats://127.0.0.1:${NC[2]},nats://127.0.0.1:${NC[3]}
  for n in 1 2 3; do
    sed -e "s|0.0.0.0:4222|127.0.0.1:${NC[n]}|" -e "s|0.0.0.0:8222|127.0.0.1:${NM[n]}|" \
      -e "s|0.0.0.0:6222|127.0.0.1:${NR[n]}|" -e "s|/data/jetstream|$WORK/nats-$n|" \
      -e "s|nats-route://nats-1:6222|nats-route://127.0.0.1:${NR[1]}|" \
      -e "s|nats-route://nats-2:6222|nats-route://127.0.0.1:${NR[2]}|" \
      -e "s|nats-route://nats-3:6222|nats-route://127.0.0.1:${NR[3]}|" \
      config/nats/cluster.conf >"$WORK/config/cluster-$n.conf"
    sed -e "s|include ./cluster.conf|include ./cluster-$n.conf|" "config/nats/nats-$n.conf" >"$WORK/config/nats-$n.conf"
    if grep -Eq '0\.0\.0\.0|nats-[123]:|/data/' "$WORK/config/cluster-$n.conf" || ! grep -q "cluster-$n.conf" "$WORK/config/nats-$n.conf"; then
      echo "loadtest: config/nats/ changed shape; update the substitutions of --cluster" >&2
      exit 1
    fi
    start "nats-$n" "$WORK/logs/nats-$n.log" "$BIN/nats-server" --config "$WORK/config/nats-$n.conf"
    NPID[n]=${PIDS[-1]}
  done
  for n in 1 2 3; do
    wait_http "nats-$n" "http://127.0.0.1:${NM[n]}/healthz" 60 "${NPID[n]}"
  done
  # The dispatchers' environment file of docker-compose.yml (channel credentials).
  set -a
  # shellcheck disable=SC1091
  . config/compose/dispatcher.env
  set +a
  export LINEDISPATCH_NATS_URL=$NATS_URL LINEDISPATCH_LINE_BASE_URL=$SIM_URL
else
  take_port; NATS_PORT=$TAKEN
  NATS_URL=nats://127.0.0.1:$NATS_PORT
fi

# Pods. Default: pod 0 runs the embedded NATS JetStream (nats.url empty) and
# the others join it. --cluster: every pod reads config/compose/dispatcher.yaml
# (NATS, LINE URL and HTTP address from the environment, as in
# docker-compose), with its pod name set (each container's host name differs).
for ((i = 0; i < PODS; i++)); do
  cfg=$WORK/config/pod-$i.yaml
  if [ "$CLUSTER" = 1 ]; then
    sed -e "s|^  # pod: .*|  pod: k6-pod-$i|" config/compose/dispatcher.yaml >"$cfg"
    if ! grep -q "^  pod: k6-pod-$i" "$cfg"; then
      echo "loadtest: no '  # pod:' line in config/compose/dispatcher.yaml to set the pod name on" >&2
      exit 1
    fi
    LINEDISPATCH_HTTP_ADDR=127.0.0.1:${POD_PORTS[$i]} \
      start "dispatcher k6-pod-$i" "$WORK/logs/pod-$i.log" "$BIN/dispatcher" run --config "$cfg"
  else
    if [ "$i" = 0 ]; then
      nats_section="  url: \"\"
  dataDir: $WORK/nats
  listen: 127.0.0.1:$NATS_PORT"
    else
      nats_section="  url: $NATS_URL"
    fi
    cat >"$cfg" <<EOF
# generated by scripts/loadtest.sh
log:
  level: warn
http:
  addr: 127.0.0.1:${POD_PORTS[$i]}
nats:
$nats_section
line:
  baseURL: $SIM_URL
  botHeader: $BOT_HEADER
  channels:
    - id: "$CHANNEL"
      token: $TOKEN
dispatch:
  pod: k6-pod-$i
EOF
    start "dispatcher k6-pod-$i" "$WORK/logs/pod-$i.log" "$BIN/dispatcher" run --config "$cfg"
  fi
  wait_http "dispatcher k6-pod-$i" "http://127.0.0.1:${POD_PORTS[$i]}/readyz" 60 "${PIDS[-1]}"
done

start gateway "$WORK/logs/gateway.log" "$BIN/producer" serve \
  --nats-url "$NATS_URL" --addr "127.0.0.1:$GW_PORT" --log-level warn
wait_http gateway "$GW_URL/healthz" 30 "${PIDS[-1]}"

if [ "$UP" = 1 ]; then
  log "stack up (Ctrl-C stops it); work directory $WORK"
  cat <<EOF
GATEWAY_URL=$GW_URL
NATS_URL=$NATS_URL
LINESIM_URL=$SIM_URL
LINESIM_ADMIN=$SIM_ADMIN
DISPATCHER_HTTP=$(for p in "${POD_PORTS[@]}"; do printf 'http://127.0.0.1:%s ' "$p"; done)
BIN=$BIN
EOF
  STATUS=0
  while :; do sleep 1; done
fi
if [ "${SETTLE%s}" -gt 0 ]; then
  log "waiting $SETTLE for partition ownership to settle over $PODS pods"
  sleep "${SETTLE%s}"
fi

RUN_ID=${RUN_ID:-k6-$(date -u +%Y%m%dT%H%M%SZ)-$$}
log "stack up: linesim $SIM_URL (admin $SIM_ADMIN), NATS $NATS_URL, $PODS pod(s), gateway $GW_URL"
[ "$CLUSTER" = 0 ] || log "cluster mode: 3 JetStream servers (R3 streams); configs from config/nats and config/compose"
log "k6: run $RUN_ID, $RATE intents/s for $DURATION over $BOTS bots, mix $ENDPOINT_MIX, batch $BATCH, single share $SINGLE_SHARE, units '${UNITS}'"

k6_flags=(run --no-usage-report --summary-export "$WORK/k6-summary.json")
[ -t 1 ] || k6_flags+=(--quiet)
k6_rc=0
K6_NO_USAGE_REPORT=true "$K6" "${k6_flags[@]}" \
  -e GATEWAY_URL="$GW_URL" -e RUN_ID="$RUN_ID" -e RATE="$RATE" -e DURATION="$DURATION" \
  -e BOTS="$BOTS" -e CHANNEL="$CHANNEL" -e ENDPOINT_MIX="$ENDPOINT_MIX" -e UNITS="$UNITS" \
  -e BATCH="$BATCH" -e SINGLE_SHARE="$SINGLE_SHARE" -e MULTICAST_TO="$MULTICAST_TO" \
  loadtest/k6/intents.js || k6_rc=$?
if [ "$k6_rc" != 0 ]; then
  log "k6 exited with $k6_rc (99: a threshold failed)"
fi
if [ ! -s "$WORK/k6-summary.json" ]; then
  echo "loadtest: k6 wrote no summary; nothing to verify" >&2
  exit 1
fi

verify_rc=0
"$BIN/verify" -nats-url "$NATS_URL" -linesim-admin "$SIM_ADMIN" -gateway-url "$GW_URL" \
  -channel "$CHANNEL" -run-id "$RUN_ID" -k6-summary "$WORK/k6-summary.json" \
  -timeout "$VERIFY_TIMEOUT" -json "$WORK/verify.json" || verify_rc=$?

if [ "$k6_rc" = 0 ] && [ "$verify_rc" = 0 ]; then
  STATUS=0
  log "PASS"
else
  STATUS=1
  log "FAIL (k6 exit $k6_rc, verify exit $verify_rc)"
fi
