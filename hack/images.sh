#!/usr/bin/env bash
# Builds Keiko's two container images: the server (deploy/images/keiko) and
# the learner's terminal (deploy/images/terminal). Needs a Docker engine;
# without one, `make test` still lints both Dockerfiles.
#
#   REGISTRY  where the images are named for (default ghcr.io/keiko-lab)
#   VERSION   their tag and the server's version (default: git describe)
#   PUSH=1    push them after building
set -euo pipefail
cd "$(dirname "$0")/.."

REGISTRY=${REGISTRY:-ghcr.io/keiko-lab}
if [ -z "${VERSION:-}" ]; then
  VERSION=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
fi
keiko=$REGISTRY/keiko:$VERSION
terminal=$REGISTRY/keiko-terminal:$VERSION

if ! command -v docker >/dev/null 2>&1; then
  echo "building Keiko's images needs Docker (https://docs.docker.com/engine/install/); the Dockerfiles are still linted by make test" >&2
  exit 1
fi
if ! info=$(docker info 2>&1); then
  echo "building Keiko's images needs a running Docker engine, and none answered:" >&2
  echo "$info" | sed -n '/[Ee]rror\|[Cc]annot connect/{s/^/  /;p}' >&2
  echo "the Dockerfiles are still linted by make test (deploy/images)" >&2
  exit 1
fi

# The images need BuildKit (cache mounts, heredocs, TARGETARCH).
export DOCKER_BUILDKIT=1

echo "building keiko image $keiko…"
docker build -f deploy/images/keiko/Dockerfile --build-arg VERSION="$VERSION" -t "$keiko" .

echo "building keiko-terminal image $terminal…"
docker build --build-arg VERSION="$VERSION" -t "$terminal" deploy/images/terminal

if [ "${PUSH:-}" = 1 ]; then
  for image in "$keiko" "$terminal"; do
    echo "pushing $image…"
    docker push "$image"
  done
fi
echo "built $keiko and $terminal"
