#!/usr/bin/env bash
# Fuzzes bulletin's parsers with cargo-fuzz (libFuzzer), one target after
# another, one process each (the machine has two cores).
#
#   fuzz/run.sh                                # every target, 300 s each
#   FUZZ_SECONDS=60 fuzz/run.sh feed teaser    # some targets, 60 s each
#
# Targets (fuzz/fuzz_targets/): feed (feed bytes → items), local_item (a
# local item file), config (config.toml), subscribers_csv (a subscriber
# CSV), teaser (text → teaser; HTML → sanitised → plain text). Each checks
# invariants besides "no panic"; they are in fuzz/src/lib.rs.
#
# Only stable Rust is needed: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its
# nightly flags. No sanitizer (-s none): bulletin forbids unsafe code, so
# what is looked for is panics (debug assertions and overflow checks are
# on), inputs slower than 10 s and runaway memory; `-s address` works too,
# at about a quarter of the speed. cargo-fuzz is installed if missing.
#
# Each target's corpus, fuzz/corpus/<target>/, is seeded at run time from
# the repository (tests/fixtures, feeds/, config.toml) and from the shared
# feed corpus (../shared/corpus, when present); neither is copied into git.
# A crash stops its target and is saved under fuzz/artifacts/<target>/;
# each target's libFuzzer output is fuzz/artifacts/<target>.log.
# Reproduce and minimise a crash with:
#
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -s none TARGET fuzz/artifacts/TARGET/crash-…
#   RUSTC_BOOTSTRAP=1 cargo fuzz tmin -s none TARGET fuzz/artifacts/TARGET/crash-…
#
# Prints, per target: executions, seconds fuzzed, crashes found. Exits 1
# when any target found one.

set -euo pipefail

cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1
SECONDS_EACH=${FUZZ_SECONDS:-300}
SHARED=../shared/corpus
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(feed local_item config subscribers_csv teaser)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

# Copies files into a corpus folder, named by content like libFuzzer's own.
seed() {
    local dir=$1
    shift
    local file
    for file in "$@"; do
        [ -f "$file" ] && cp "$file" "$dir/seed-$(sha1sum <"$file" | cut -c1-40)"
    done
    return 0
}

# Writes stdin into a corpus folder as one input.
seed_text() {
    local file
    file=$(mktemp)
    cat >"$file"
    seed "$1" "$file"
    rm -f "$file"
}

seed_feed() {
    seed "$1" tests/fixtures/*.rss feeds/*.rss feeds/*.atom feeds/*.json
    if [ -d "$SHARED" ]; then
        find "$SHARED" -type f \( -name '*.xml' -o -name '*.json' \) -print0 |
            while IFS= read -r -d '' file; do seed "$1" "$file"; done
    else
        echo "note: $SHARED not found; feed seeds from the repository only" >&2
    fi
}

seed_local_item() {
    find feeds/local -type f \( -name '*.toml' -o -name '*.md' \) -print0 |
        while IFS= read -r -d '' file; do seed "$1" "$file"; done
}

seed_config() {
    seed "$1" config.toml
    seed_text "$1" <<'EOF'
[site]
name = "Test centre"
base_url = "https://centre.example/"
date_format = "%e %B %Y"
teaser_width = 80

[[newsletter]]
id = "digest"
title = "Digest"
description = "All of it"
audience = "eu-organisations"
schedule = { weekday = "monday" }

[[newsletter.section]]
id = "news"
title = "News"
kinds = ["news"]
limit = 5

[[source]]
name = "A feed"
feed = "https://feeds.example/rss.xml"
newsletters = ["digest"]

[[source]]
name = "Events"
local = "feeds/local/events/*.md"
kind = "event"
newsletters = ["digest"]
EOF
}

seed_subscribers_csv() {
    seed_text "$1" <<'EOF'
email,name,organisation,organisation_type,country,newsletters,consent_date
jane@Example.DE,Jane Doe,Acme GmbH,company,DE,eu-japan-news;about-japan;tax-procurement,2025-01-10
taro@example.jp,Yamada Taro,Example KK,company,JP,eu-japan-news,2025-02-01
solo@example.fr,"Solo, Reader",,individual,FR,about-japan tech-transfer,2025-03-01
not-an-address,X,Org,company,DE,about-japan,2025-01-01
a@example.de,X,Org,company,DE,about-japon,2025-01-01
b@example.de,X,Org,organization,ZZ,about-japan,2025-13-01
EOF
    seed_text "$1" <<'EOF'
newsletters,consent_date,country,organisation_type,email
industry-policy,2025-06-30,be,Organisation,"quoted@example.be"
EOF
}

# Teaser inputs: a width byte, then the text or HTML.
seed_teaser() {
    printf 'dThe Minerva Policy Reports deliver comprehensive research on the dynamic political, economic, and social landscape' | seed_text "$1"
    printf '\x14デジタル庁は本日、エストニアとの協力覚書に基づく専門家派遣の成果を公表しました。' | seed_text "$1"
    printf '(<p onclick="x()">One &amp; <b>two</b><script>alert(1)</script></p><ul><li>a</li><li>b &lt;c&gt;</li></ul><a href="../c?id=3&amp;utm_source=rss#top">more</a> <a href="javascript:alert(1)">x</a><img src="https://t.example/p.gif">' | seed_text "$1"
    seed "$1" tests/fixtures/hostile.rss
}

# One target: seeded, fuzzed, and summed up in one line.
fuzz() {
    local target=$1
    local corpus=fuzz/corpus/$target artifacts=fuzz/artifacts/$target
    local log=fuzz/artifacts/$target.log
    mkdir -p "$corpus" "$artifacts"
    "seed_$target" "$corpus"
    local before
    before=$(find "$artifacts" -type f | wc -l)
    echo "fuzzing $target for ${SECONDS_EACH}s ($(find "$corpus" -type f | wc -l) inputs in $corpus)" >&2
    local started=$SECONDS
    cargo fuzz run -s none "$target" -- \
        -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1 || true
    # libFuzzer's own count and time ("Done N runs in S second(s)"); a run
    # stopped by a crash prints only its count, and is timed here.
    local runs took
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
    took=${took:-$((SECONDS - started))}
    local crashes=$(($(find "$artifacts" -type f | wc -l) - before))
    printf '%-16s %12s %8s %8s\n' "$target" "${runs:-?}" "$took" "$crashes"
    [ "$crashes" -eq 0 ]
}

# Built once, so the time each target is given is all fuzzing.
cargo fuzz build -s none
printf '%-16s %12s %8s %8s\n' TARGET RUNS SECONDS CRASHES
failed=0
for target in "${TARGETS[@]}"; do
    fuzz "$target" || failed=1
done
exit "$failed"
