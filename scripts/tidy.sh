#!/usr/bin/env bash
# Runs clang-tidy with the repository's .clang-tidy (the checks that find bugs, among them
# reference parameters and capturing lambdas in coroutines) over every translation unit of
# src/, the unit tests beside the modules included, from build/compile_commands.json. Any
# finding fails the run; the last line sums it up.
#
# clang-tidy 22 (Debian's clang-tidy-22, which scripts/setup.sh installs): 15 and 16 have the
# coroutine checks too, but report the parameters of every lambda inside a coroutine as the
# coroutine's (llvm#64915, fixed in 18), and walk the whole of Asio's and the standard
# library's headers for every check (22 skips system headers), which made the tree take
# three times as long. The clang-analyzer checks are left out for time (see .clang-tidy).
# On two cores the run takes about five minutes.
#
# Usage: scripts/tidy.sh [FILE...]   (default: all of src/)
# Env: SHFN_CLANG_TIDY (default clang-tidy-22), SHFN_TIDY_JOBS (default: the number of cores).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tidy="${SHFN_CLANG_TIDY:-clang-tidy-22}"
jobs="${SHFN_TIDY_JOBS:-$(nproc)}"
venv="${SHFN_VENV:-${SHFN_CACHE:-$HOME/.cache/shfn}/venv}"

if ! command -v "$tidy" >/dev/null; then
  echo "tidy: $tidy not found (scripts/setup.sh installs it)" >&2
  exit 1
fi
if [ ! -f build/compile_commands.json ]; then
  cmake --preset default -DSHFN_PYTHON="$venv/bin/python" >/dev/null
fi
# The generated protobuf headers, which the sources include.
cmake --build build --target shfn_proto >/dev/null

if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(python3 - "$root" <<'EOF'
import json, sys
root = sys.argv[1]
seen = set()
for entry in json.load(open(f"{root}/build/compile_commands.json")):
    f = entry["file"]
    if f.startswith(f"{root}/src/") and f not in seen:
        seen.add(f)
        print(f)
EOF
  )
fi

out=$(mktemp -d /tmp/shfn-tidy.XXXXXX)
trap 'rm -rf "$out"' EXIT
start=$SECONDS
# The compile commands are GCC's: clang warns about what it does not know instead of failing,
# and its own warnings (-Werror) are left to GCC's build. Asio enables co_await for clang only
# with libc++; the standard library's <coroutine> serves clang as well.
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -I{} sh -c '
  log="$1/$(echo "$3" | tr / _).log"
  "$2" -p build --quiet --extra-arg=-Wno-unknown-warning-option --extra-arg=-Wno-error \
    --extra-arg=-DASIO_HAS_CO_AWAIT=1 "$3" >"$log" 2>&1 || echo "$3" >>"$1/failed"
' _ "$out" "$tidy" {}

findings=$(cat "$out"/*.log | grep -E ': (warning|error): ' | sort -u || true)
failed=0
if [ -f "$out/failed" ]; then failed=$(wc -l <"$out/failed"); fi
elapsed=$((SECONDS - start))
if [ -n "$findings" ] || [ "$failed" -gt 0 ]; then
  # Each finding with its context, once (a header's shows in every file that includes it).
  cat "$out"/*.log | grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' |
    awk '/: (warning|error): / { keep = !seen[$0]++ } keep' >&2
  echo "tidy: $(printf '%s\n' "$findings" | grep -c .) findings in $failed of ${#files[@]} files" \
    "(${elapsed}s)" >&2
  exit 1
fi
echo "tidy: ${#files[@]} files clean (${elapsed}s)" >&2
