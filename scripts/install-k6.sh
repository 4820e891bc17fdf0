#!/usr/bin/env bash
# scripts/install-k6.sh: make k6 $K6_VERSION available and print its path.
#
# Uses, in order: $K6 if set (must be that version), `k6` on PATH, k6 in
# $(go env GOBIN) or $(go env GOPATH)/bin; else builds it from its Go module
# with `go install go.k6.io/k6@$K6_VERSION` (nothing else is downloaded; a few
# minutes on 2 cores) into GOBIN / GOPATH/bin, where later runs find it.
#
#   K6=$(scripts/install-k6.sh)
set -euo pipefail

K6_VERSION=${K6_VERSION:-v1.8.1}

at_version() { [ -x "$1" ] && "$1" version 2>/dev/null | grep -q "^k6 ${K6_VERSION}\b"; }

if [ -n "${K6:-}" ]; then
  if at_version "$K6"; then echo "$K6"; exit 0; fi
  echo "install-k6: K6=$K6 is not k6 $K6_VERSION" >&2
  exit 1
fi
gobin=$(go env GOBIN)
[ -n "$gobin" ] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
onpath=$(command -v k6 || true)
if [ -n "$onpath" ] && at_version "$onpath"; then echo "$onpath"; exit 0; fi
if at_version "$gobin/k6"; then echo "$gobin/k6"; exit 0; fi

echo "install-k6: building k6 $K6_VERSION with go install (takes a few minutes on 2 cores)" >&2
(cd / && GOFLAGS=-buildvcs=false go install "go.k6.io/k6@${K6_VERSION}") >&2
if ! at_version "$gobin/k6"; then
  echo "install-k6: go install did not produce k6 $K6_VERSION in $gobin" >&2
  exit 1
fi
echo "$gobin/k6"
