#!/usr/bin/env bash
# CI smoke run of the fuzz targets: builds them all (debug profile, no
# sanitizer: the build is what costs on CI), then runs each one for
# FUZZ_SECONDS (15 by default, so that the whole smoke stays within about
# 8 minutes of CI) from its committed corpus, and fails on the first crash,
# memory use past 2 GB, or input slower than 25 s. New inputs go to a
# scratch directory, never into the committed corpus; a crashing input is
# left in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-15}"
# cargo fuzz passes nightly flags (-Zsanitizer, -Cpasses=sancov-module) to
# the stable compiler.
export RUSTC_BOOTSTRAP=1
flags=(--dev --sanitizer none)

start=$(date +%s)
cargo fuzz build "${flags[@]}"
built=$(date +%s)
echo "fuzz: built in $((built - start)) s"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in $(cargo fuzz list); do
    mkdir -p "$scratch/$target"
    log="$scratch/$target.log"
    if ! cargo fuzz run "${flags[@]}" "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
        >"$log" 2>&1; then
        tail -60 "$log"
        echo "fuzz: $target FAILED (input in fuzz/artifacts/$target/)" >&2
        exit 1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz: $target ok, $runs runs in ${seconds} s, peak RSS ${rss} MB"
done
echo "fuzz: every target ran ${seconds} s without a crash; total $(($(date +%s) - start)) s"
