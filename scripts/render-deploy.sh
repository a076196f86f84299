#!/usr/bin/env bash
# deploy/k8s/ is `shfn k8s render` of examples/reverse/reverse.yaml, committed so that users can
# `kubectl apply -k deploy/k8s` without building anything. This script renders it again; with
# --check it only compares (ctest's k8s_deploy_up_to_date runs that in CI) and fails if a change
# to the renderer or the example has not been rendered and committed.
#
#   scripts/render-deploy.sh [--check]     SHFN_BIN: the shfn binary (default: build/src/cli/shfn)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${SHFN_BIN:-$root/build/src/cli/shfn}"
spec=examples/reverse/reverse.yaml
image=shfn/reverse:latest  # what `shfn image build examples/reverse/reverse.yaml` names it
out=deploy/k8s

[ -x "$bin" ] || { echo "render-deploy: no shfn binary at $bin (build it, or set SHFN_BIN)" >&2; exit 1; }
render() { (cd "$root" && "$bin" k8s render "$spec" --image "$image" -o "$1" >/dev/null); }

if [ "${1:-}" = "--check" ]; then
  fresh="$(mktemp -d)"
  trap 'rm -rf "$fresh"' EXIT
  render "$fresh"
  if ! diff -ru "$root/$out" "$fresh" >&2; then
    echo "render-deploy: $out differs from \`shfn k8s render $spec --image $image -o $out\`" >&2
    echo "render-deploy: run scripts/render-deploy.sh and commit $out" >&2
    exit 1
  fi
  echo "render-deploy: $out is up to date"
  exit 0
fi
mkdir -p "$root/$out"
rm -f "$root/$out"/*.yaml  # everything there is rendered: no stale file may stay
render "$root/$out"
echo "render-deploy: rendered $out from $spec"
