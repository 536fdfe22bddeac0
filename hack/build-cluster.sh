#!/usr/bin/env bash
# Builds bin/keiko-cluster, the embedded control plane. A cold build compiles
# most of Kubernetes (about 4 minutes on 2 cores), so it reports progress.
set -euo pipefail
cd "$(dirname "$0")/../deploy/cluster"

KUBE_VERSION=v1.36.3
minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  # kubectl and client-go refuse to parse a version of "v0.0.0-master".
  ldflags+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
done

total=$(go list -deps . | wc -l)
echo "building keiko-cluster (Kubernetes $KUBE_VERSION, $total packages; a first build takes about 4 minutes on 2 cores)"
start=$SECONDS
# -v names each package as it is compiled; cached ones are not named, so a
# warm build is silent and quick.
go build -v -trimpath -ldflags "$ldflags" -o ../../bin/keiko-cluster . 2>&1 | awk -v total="$total" -v start="$start" '
  /^#|\.go:[0-9]/ { print; next }
  { n++; if (n % 200 == 0) { printf "  compiled %d/%d packages\n", n, total; fflush() } }
'
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then exit "$status"; fi
echo "built bin/keiko-cluster in $((SECONDS - start))s"
