#!/usr/bin/env bash
# scripts/check-compose.sh: validate the docker-compose deployment without a
# Docker daemon (CI cannot run containers):
#   - docker-compose.yml against the Compose schema (`docker-compose config -q`,
#     Debian's docker-compose package; with and without the "load" profile);
#   - every Dockerfile target the compose file builds exists;
#   - config/compose/dispatcher.yaml with config/compose/dispatcher.env, as the
#     dispatcher itself checks it (`dispatcher check-config`);
#   - config/compose/linesim.yaml, loaded by linesim;
#   - config/nats/nats-{1,2,3}.conf with `nats-server -t` (nats-server built
#     from the Go module at go.mod's version);
#   - config/prometheus/prometheus.yml names the dispatcher service and port.
# scripts/loadtest.sh --smoke --cluster goes further: it runs these files.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "check-compose: $*" >&2; exit 1; }

if ! command -v docker-compose >/dev/null; then
  fail "docker-compose not found (Debian: apt-get install -y docker-compose)"
fi
echo "check-compose: docker-compose config ($(docker-compose version --short 2>/dev/null || echo '?'))"
docker-compose -f docker-compose.yml config -q
docker-compose -f docker-compose.yml --profile load config -q
services=$(docker-compose -f docker-compose.yml --profile load config --services | sort | tr '\n' ' ')
for s in nats-1 nats-2 nats-3 dispatcher linesim gateway prometheus k6; do
  [[ " $services " == *" $s "* ]] || fail "service $s missing from docker-compose.yml (have: $services)"
done

for target in $(docker-compose -f docker-compose.yml --profile load config | awk '/^ *target:/ {print $2}' | sort -u); do
  grep -Eq "^FROM .* AS ${target}\$" Dockerfile || fail "Dockerfile has no stage '$target' (used by docker-compose.yml)"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOFLAGS=${GOFLAGS:--buildvcs=false} go build -o "$tmp/" ./cmd/dispatcher ./cmd/linesim
GOFLAGS=${GOFLAGS:--buildvcs=false} go build -o "$tmp/nats-server" github.com/nats-io/nats-server/v2

echo "check-compose: dispatcher check-config config/compose/dispatcher.yaml"
(
  set -a
  # shellcheck disable=SC1091
  . config/compose/dispatcher.env
  set +a
  "$tmp/dispatcher" check-config config/compose/dispatcher.yaml
)

echo "check-compose: linesim --config config/compose/linesim.yaml"
"$tmp/linesim" --config config/compose/linesim.yaml --addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 --log-level warn &
sim=$!
sleep 1
kill -0 "$sim" 2>/dev/null || { wait "$sim" || true; fail "linesim refused config/compose/linesim.yaml"; }
kill -TERM "$sim"
wait "$sim" || true

for n in 1 2 3; do
  echo "check-compose: nats-server -t config/nats/nats-$n.conf"
  if ! out=$(cd config/nats && "$tmp/nats-server" -t -c "nats-$n.conf" 2>&1); then
    echo "$out" >&2
    fail "nats-server refused config/nats/nats-$n.conf"
  fi
done

grep -q "names: \[dispatcher\]" config/prometheus/prometheus.yml || fail "prometheus.yml does not discover the dispatcher service"
grep -q "port: 8080" config/prometheus/prometheus.yml || fail "prometheus.yml does not scrape port 8080 (dispatcher http.addr)"
grep -q "addr: 0.0.0.0:8080" config/compose/dispatcher.yaml || fail "config/compose/dispatcher.yaml: http.addr must be 0.0.0.0:8080 for Prometheus"
echo "check-compose: ok"
