#!/usr/bin/env bash
# Installs everything shfn needs to build and test, from package registries only:
# Debian packages, Apache Pulsar standalone, pulsar-perf and pulsar-client from Maven Central,
# the official Python client from PyPI in a venv, the official Java client (Maven Central) and
# Go client (the Go module proxy) for the interop suites. Idempotent, and quick when everything
# is already there.
#
#   scripts/setup.sh            build deps + test deps
#   scripts/setup.sh --build    build deps only (enough for `shfn`)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

build_packages=(
  build-essential cmake ninja-build pkg-config
  protobuf-compiler libprotobuf-dev libasio-dev libexpected-dev libssl-dev
  libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev libyaml-cpp-dev
  liblz4-dev libzstd-dev libsnappy-dev zlib1g-dev libisal-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
test_packages=(
  clang libclang-rt-14-dev clang-tidy-22 openjdk-17-jre-headless maven python3 python3-venv openssl
  curl jq tzdata
  chromium fonts-liberation  # the live view's tests (tests/functions/test_ui.py)
  gnuplot-nox  # bench/plot.sh; CI checks the charts in docs/benchmarks.md
  buildah podman runc debootstrap
)

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

install_packages() {
  local missing
  missing=$(missing_packages "$@")
  [ -z "$missing" ] && return 0
  echo "setup: installing Debian packages: $missing" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

if [ "${1:-}" = "--build" ]; then
  install_packages "${build_packages[@]}"
  exit 0
fi
install_packages "${build_packages[@]}" "${test_packages[@]}"
bash "$here/setup-pulsar.sh" >/dev/null
bash "$here/setup-python.sh" >/dev/null
# The interop suites written with the official Java and Go clients: their Maven artifacts and Go
# modules, fetched now so that the tests run offline.
bash "$here/../tests/interop/java/setup.sh"
bash "$here/../tests/interop/go/setup.sh"
# The CloudEvents Go modules the CESQL TCK and the conformance tool come in.
bash "$here/../tests/cloudevents/setup.sh"
# tests/k8s's npm packages (kubernetes-models, yaml), as its package-lock.json pins them; npm
# (nodejs from nodesource bundles it) only from Debian when there is none.
command -v npm >/dev/null || install_packages nodejs npm
k8s_tests="$here/../tests/k8s"
lock_sum=$(sha256sum "$k8s_tests/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$k8s_tests/node_modules/.shfn-lock-sum" 2>/dev/null)" != "$lock_sum" ]; then
  (cd "$k8s_tests" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$lock_sum" >"$k8s_tests/node_modules/.shfn-lock-sum"
fi
echo "setup: done" >&2
