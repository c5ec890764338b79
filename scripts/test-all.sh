#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests, then the interoperability
# scenarios with the official Java and Go clients and mqadmin against a ferrocket this script builds.
# Run .ci/install-deps once first on a fresh machine (it fetches the Java and Go clients).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

echo "== cargo test"
cargo test --workspace

echo "== interop: official clients against ferrocket"
cargo build --bin ferrocket
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
FERROCKET_BIN="$TARGET_DIR/debug/ferrocket" bash tests/interop/run.sh --target ferrocket
