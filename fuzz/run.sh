#!/usr/bin/env bash
# Runs one fuzz target with its seed corpus and its dictionary:
#
#   fuzz/run.sh <target> [seconds] [more libFuzzer flags…]
#
# The seeds in corpus/<target>/ are read, not written: what the run discovers goes to
# corpus-run/<target>/ (ignored by git; FUZZ_WORK sets another folder), and crashes to
# artifacts/<target>/. Builds without AddressSanitizer (`-s none`: safe Rust does not
# need it) and with RUSTC_BOOTSTRAP=1, since cargo-fuzz asks for nightly features.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
target=${1:?usage: fuzz/run.sh <target> [seconds] [libFuzzer flags…]}
seconds=${2:-60}
shift $(($# < 2 ? $# : 2))
work=${FUZZ_WORK:-$here/corpus-run}/$target
mkdir -p "$work"
cd "$here"
RUSTC_BOOTSTRAP=1 exec cargo fuzz run -s none "$target" "$work" "$here/corpus/$target" -- \
    -dict="$here/dicts/$target.dict" -max_total_time="$seconds" "$@"
