#!/usr/bin/env bash
# Every module's unit tests under ASan and UBSan (build-asan), and the storage tests, whose
# syncer and cursor compactions run on threads of their own, under TSan (build-tsan). Any
# finding fails the run (UBSan does not recover). Of the suites that start brokers, only the
# function instance's runs here too; the others run in the main build only.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${SHFN_VENV:-${SHFN_CACHE:-$HOME/.cache/shfn}/venv}"
modules=(base wire storage http event exec function flow config cron client broker flowtest)

cmake --preset asan -DSHFN_PYTHON="$venv/bin/python" >/dev/null
cmake --build build-asan -j"$(nproc)" --target "${modules[@]/%/_tests}" function_instance_tests
for m in "${modules[@]}"; do
  echo "asan+ubsan: ${m}_tests" >&2
  "./build-asan/src/$m/${m}_tests" --gtest_brief=1
done
# A function instance with the embedded broker in-process: coroutines, scripts, shutdown.
echo "asan+ubsan: function_instance_tests" >&2
./build-asan/src/function/function_instance_tests --gtest_brief=1

cmake --preset tsan -DSHFN_PYTHON="$venv/bin/python" >/dev/null
cmake --build build-tsan -j"$(nproc)" --target storage_tests
echo "tsan: storage_tests" >&2
./build-tsan/src/storage/storage_tests --gtest_brief=1
