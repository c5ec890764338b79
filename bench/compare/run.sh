#!/usr/bin/env bash
# Side-by-side benchmark: Ferrocket (release build) against the Apache RocketMQ 5.3.3 name server
# + broker, one system at a time on the same loopback ports with a fresh data dir, driven by the
# same clients (`ferrocket bench`, and RocketMQ's own benchmark Producer for sync sends).
#
#   bench/compare/run.sh [--quick] [--systems ferrocket,java] [--repeats N] [--out DIR]
#
#   --quick       trimmed sizes, threads, durations and log sizes (under 5 minutes; full: under 30)
#   --systems     which systems to run, in the order of each repeat (default ferrocket,java)
#   --repeats N   rounds per system, alternating A B A B ... (default 2 for both forms)
#   --out DIR     where results go (default bench/compare/out/<UTC date-time>[-quick])
#   --report-only re-make the table and plots of an existing --out DIR
#
# Writes DIR/results.json (every sample), DIR/results.csv, DIR/summary.json, DIR/table.md
# (median and min-max per system, ratio ferrocket/java, goal of issue #5), DIR/*.png, DIR/log.txt,
# DIR/raw/ (every client's output) and DIR/logs/ (server output of each round).
#
# Needs: cargo, java 17, mvn, python3 (with pip). Builds `ferrocket` in release mode
# (CARGO_TARGET_DIR is honoured), fetches the Java jars with Maven and installs matplotlib with
# pip --user when it is missing. Only loopback traffic.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

QUICK=0
SYSTEMS=ferrocket,java
REPEATS=""
OUT=""
REPORT_ONLY=0
ARGS=("$@")
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1; shift ;;
        --systems) SYSTEMS=${2:?}; shift 2 ;;
        --systems=*) SYSTEMS=${1#--systems=}; shift ;;
        --repeats) REPEATS=${2:?}; shift 2 ;;
        --repeats=*) REPEATS=${1#--repeats=}; shift ;;
        --out) OUT=${2:?}; shift 2 ;;
        --out=*) OUT=${1#--out=}; shift ;;
        --report-only) REPORT_ONLY=1; shift ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [[ -n "$REPEATS" && ! "$REPEATS" =~ ^[1-9][0-9]*$ ]]; then
    echo "--repeats needs a positive integer" >&2
    exit 2
fi
if [[ -z "$OUT" ]]; then
    OUT="$HERE/out/$(date -u +%Y%m%d-%H%M%S)$(if [[ $QUICK == 1 ]]; then echo -quick; fi)"
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

say() { echo "# $*"; }

# ---------------------------------------------------------------- plotting library
if ! python3 -c 'import matplotlib' 2>/dev/null; then
    say "installing matplotlib (pip --user)"
    python3 -m pip install --user --quiet matplotlib 2>&1 | grep -v "Running pip as the 'root' user" \
        || python3 -m pip install --user --quiet --break-system-packages matplotlib
    python3 -c 'import matplotlib' || { echo "matplotlib could not be installed" >&2; exit 1; }
fi

if [[ $REPORT_ONLY == 1 ]]; then
    exec python3 "$HERE/report.py" "$OUT"
fi

START=$(date +%s)
for tool in cargo java mvn python3; do
    command -v "$tool" >/dev/null || { echo "$tool is not on PATH" >&2; exit 1; }
done

# ---------------------------------------------------------------- ferrocket (release)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
say "building ferrocket (release, target dir $TARGET_DIR)"
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --quiet --bin ferrocket)
FERROCKET="$TARGET_DIR/release/ferrocket"

# ---------------------------------------------------------------- Java jars
fetch_jars() { # pom_dir
    local dir=$1
    if [[ ! -f "$dir/target/.fetched" || "$dir/pom.xml" -nt "$dir/target/.fetched" ]]; then
        say "fetching $(basename "$dir") jars with Maven"
        rm -rf "$dir/target/lib"
        local i
        for i in 1 2 3; do
            if mvn -q -B -f "$dir/pom.xml" dependency:copy-dependencies \
                -DoutputDirectory="$dir/target/lib" >"$OUT/mvn-$(basename "$dir").log" 2>&1; then
                touch "$dir/target/.fetched"
                return 0
            fi
            say "maven attempt $i failed (see $OUT/mvn-$(basename "$dir").log)"
            sleep $((i * 5))
        done
        exit 1
    fi
}
fetch_jars "$HERE/java/broker"
fetch_jars "$HERE/java/client"
say "setup done in $(($(date +%s) - START)) s"

# ---------------------------------------------------------------- measure, then report
CMD="bench/compare/run.sh${ARGS[*]:+ ${ARGS[*]}}"
python3 "$HERE/compare.py" --out "$OUT" --systems "$SYSTEMS" ${REPEATS:+--repeats "$REPEATS"} \
    $([[ $QUICK == 1 ]] && echo --quick) --ferrocket "$FERROCKET" \
    --java-broker-lib "$HERE/java/broker/target/lib" --java-client-lib "$HERE/java/client/target/lib" \
    --command "$CMD"
python3 "$HERE/report.py" "$OUT"
say "total wall time $(($(date +%s) - START)) s; results in $OUT"
