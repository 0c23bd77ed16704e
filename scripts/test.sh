#!/usr/bin/env bash
# The one test command: builds Quiver, runs the Rust tests, then the end-to-end pytest
# suite against the real binary. This full run is what CI runs. Extra arguments are
# passed through to pytest, e.g.
#   scripts/test.sh -k aliases -x
# To run e2e tests alone against a binary already built (seconds for one file):
#   scripts/test.sh --e2e-only tests/e2e/test_aliases.py
#   QUIVER_BIN=target/release/quiver scripts/test.sh --e2e-only -k snapshot
# Environment:
#   QUIVER_BIN        the binary the e2e suite drives (default: the debug build)
#   QUIVER_VENV       Python venv for the e2e suite (default: .venv, created if missing)
#   CARGO_TARGET_DIR  honoured when locating the built binary
#   PYTHON            interpreter used to create the venv (default: python3)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

step() { printf '\n==> %s\n' "$*"; }

E2E_ONLY=false
if [[ "${1:-}" == "--e2e-only" ]]; then
  E2E_ONLY=true
  shift
fi

if [[ "$E2E_ONLY" == false ]]; then
  step "cargo build"
  cargo build -j2 --locked
fi

if [[ -z "${QUIVER_BIN:-}" ]]; then
  TARGET_DIR="$(cargo metadata --format-version 1 --no-deps --locked \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null \
    || true)"
  TARGET_DIR="${TARGET_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}}"
  QUIVER_BIN="$TARGET_DIR/debug/quiver"
fi
if [[ ! -x "$QUIVER_BIN" ]]; then
  echo "error: no quiver binary at $QUIVER_BIN (build it with cargo build, or set QUIVER_BIN)" >&2
  exit 1
fi

if [[ "$E2E_ONLY" == false ]]; then
  step "Rust tests"
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run -j2 --locked --workspace
  else
    cargo test -j2 --locked --workspace
  fi
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

step "Chromium for the console tests"
# tests/e2e/test_console.py drives Debian's chromium (Playwright never downloads one).
# CI runs as root on a fresh Debian: install it there; elsewhere say what is missing.
if [[ -x /usr/bin/chromium ]]; then
  echo "/usr/bin/chromium is installed"
elif [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
  APT_LOG="$(mktemp)"
  if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } >"$APT_LOG" 2>&1; then
    cat "$APT_LOG" >&2
    echo "error: cannot install Debian's chromium package" >&2
    exit 1
  fi
  rm -f "$APT_LOG"
  echo "installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
else
  echo "warning: no /usr/bin/chromium; the console tests will fail (sudo apt-get install chromium)" >&2
fi

step "end-to-end tests (pytest)"
# The whole suite unless the arguments name test files or tests themselves.
TESTS=(tests/e2e)
for arg in "$@"; do
  if [[ "$arg" == *.py || "$arg" == *::* || "$arg" == tests/* ]]; then
    TESTS=()
    break
  fi
done
QUIVER_BIN="$QUIVER_BIN" "$VENV/bin/python" -m pytest "${TESTS[@]}" -q -p no:cacheprovider \
  --timeout 300 "$@"
