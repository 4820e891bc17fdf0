#!/bin/sh
# The k6 service of docker-compose.yml (image target "loadtest"): waits for
# the gateway, runs loadtest/k6/intents.js, then loadtest/verify against the
# cluster and linesim. Exit status 0 only when k6's thresholds and the verify
# step pass. POSIX sh (Alpine's busybox).
#
# Environment: GATEWAY_URL, NATS_URL, LINESIM_ADMIN, RUN_ID (default: a new
# one per run, so repeated runs never share recipients), and the k6 script's
# parameters RATE, DURATION, BOTS, BATCH, SINGLE_SHARE, ENDPOINT_MIX, UNITS,
# MULTICAST_TO (passed through by k6 as __ENV); VERIFY_TIMEOUT.
set -eu

: "${GATEWAY_URL:=http://gateway:8090}"
: "${NATS_URL:=nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222}"
: "${LINESIM_ADMIN:=http://linesim:8082}"
: "${VERIFY_TIMEOUT:=5m}"
: "${CHANNEL:=1234567890}"
if [ -z "${RUN_ID:-}" ]; then
  RUN_ID="k6-$(date -u +%Y%m%dT%H%M%SZ)-$$"
fi
export GATEWAY_URL RUN_ID CHANNEL
RESULTS=${RESULTS:-/results}
[ -w "$RESULTS" ] || RESULTS=/tmp

echo "k6-compose: waiting for $GATEWAY_URL/healthz"
i=0
until wget -q -O /dev/null "$GATEWAY_URL/healthz"; do
  i=$((i + 1))
  if [ "$i" -ge 120 ]; then echo "k6-compose: gateway not healthy after 120 s" >&2; exit 1; fi
  sleep 1
done

start=$(date +%s)
k6_rc=0
k6 run --no-usage-report --quiet --summary-export "$RESULTS/$RUN_ID.k6.json" "${K6_SCRIPT:-/opt/linedispatch/k6/intents.js}" || k6_rc=$?
[ "$k6_rc" = 0 ] || echo "k6-compose: k6 exited with $k6_rc (99: a threshold failed)" >&2
if [ ! -s "$RESULTS/$RUN_ID.k6.json" ]; then
  echo "k6-compose: k6 wrote no summary; nothing to verify" >&2
  exit 1
fi

# Read only the outcomes stored since the run began (plus a minute of margin):
# the stream keeps 90 days of them.
since=$(( $(date +%s) - start + 60 ))
verify_rc=0
verify -nats-url "$NATS_URL" -linesim-admin "$LINESIM_ADMIN" -channel "$CHANNEL" \
  -run-id "$RUN_ID" -k6-summary "$RESULTS/$RUN_ID.k6.json" -since "${since}s" \
  -timeout "$VERIFY_TIMEOUT" -json "$RESULTS/$RUN_ID.verify.json" || verify_rc=$?
echo "k6-compose: results in $RESULTS/$RUN_ID.k6.json and $RESULTS/$RUN_ID.verify.json"
if [ "$k6_rc" = 0 ] && [ "$verify_rc" = 0 ]; then
  echo "k6-compose: PASS"
  exit 0
fi
echo "k6-compose: FAIL (k6 exit $k6_rc, verify exit $verify_rc)" >&2
exit 1
