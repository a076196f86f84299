#!/usr/bin/env bash
# Runs every fuzz target (libFuzzer, clang; the `fuzz` preset) for a short while: the Pulsar
# frame and batch decoder, the client's entry decoder, the CloudEvents decoder, the HTTP request
# head and response parsers, the TZif parser, the Avro schema parser, and the storage's recovery
# of a log segment and a cursor file.
#
# Usage: scripts/fuzz.sh [WORKDIR]   Env: SHFN_FUZZ_SECONDS per target (default 15).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
work="${1:-$(mktemp -d /tmp/shfn-fuzz.XXXXXX)}"
seconds="${SHFN_FUZZ_SECONDS:-15}"
targets=(wire/fuzz_decode_frame client/fuzz_entry_decoder event/fuzz_decode_event http/fuzz_parse_http
  cron/fuzz_parse_tzif schema/fuzz_avro_schema storage/fuzz_recover)

cmake --preset fuzz >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]#*/}"
# One target (a fuzzer is one process on one core): its log in WORKDIR, a line on success, the
# end of its log on a crash.
fuzz_one() {
  local target="$1" name corpus
  name="${target#*/}"
  corpus="$work/corpus-$name"
  mkdir -p "$corpus"
  local seeds=()
  # Real zone files teach the TZif fuzzer the format at once.
  if [[ $name == fuzz_parse_tzif && -d /usr/share/zoneinfo/Europe ]]; then
    seeds=(/usr/share/zoneinfo/Europe)
  fi
  if ! TMPDIR="$work" "./build-fuzz/src/$target" -max_total_time="$seconds" -max_len=4096 "$corpus" \
    "${seeds[@]}" 2>"$work/$name.log"; then
    tail -50 "$work/$name.log"
    echo "fuzz: $name: crashed (above: the end of $work/$name.log)" >&2
    return 1
  fi
  echo "fuzz: $name: $(grep -o 'Done [0-9]* runs' "$work/$name.log"), no crash" >&2
}
export -f fuzz_one
export work seconds
# As many targets at once as there are cores.
printf '%s\n' "${targets[@]}" | xargs -P "$(nproc)" -I{} bash -c 'fuzz_one "$1"' _ {}
