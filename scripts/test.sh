#!/usr/bin/env bash
# The one test command: builds Quiver, runs the Rust tests, then the end-to-end pytest
# suite against the real binary. Extra arguments are passed through to pytest, e.g.
#   scripts/test.sh -k aliases -x
# Environment:
#   QUIVER_VENV       Python venv for the e2e suite (default: .venv, created if missing)
#   CARGO_TARGET_DIR  honoured when locating the built binary
#   PYTHON            interpreter used to create the venv (default: python3)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

step() { printf '\n==> %s\n' "$*"; }

step "cargo build"
cargo build -j2 --locked

TARGET_DIR="$(cargo metadata --format-version 1 --no-deps --locked \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null \
  || true)"
TARGET_DIR="${TARGET_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}}"
QUIVER_BIN="$TARGET_DIR/debug/quiver"
if [[ ! -x "$QUIVER_BIN" ]]; then
  echo "error: built binary not found at $QUIVER_BIN" >&2
  exit 1
fi

step "Rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run -j2 --locked --workspace
else
  cargo test -j2 --locked --workspace
fi

step "Python venv"
VENV="${QUIVER_VENV:-.venv}"
REQS="tests/e2e/requirements.txt"
STAMP="$VENV/.requirements.sha256"
if [[ ! -x "$VENV/bin/python" ]]; then
  "${PYTHON:-python3}" -m venv "$VENV"
fi
want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$want" ]]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQS"
  echo "$want" > "$STAMP"
fi

step "end-to-end tests (pytest)"
QUIVER_BIN="$QUIVER_BIN" "$VENV/bin/python" -m pytest tests/e2e -q -p no:cacheprovider \
  --timeout 300 "$@"
