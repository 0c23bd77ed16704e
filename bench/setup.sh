#!/usr/bin/env bash
# Creates the benchmark venvs under bench/.venvs/ (idempotent; re-run after editing the pins):
#   client  pymilvus 3.0.2 + numpy + psutil   (runs bench/datapath.py)
#   milvus  PyPI `milvus` 2.3.5 ("embedded Milvus"; provides the `milvus-server` entry point)
#   lite    milvus-lite 3.2.2                  (provides the `milvus-lite` entry point)
# The peers need separate venvs: their dependency pins clash with each other and with pymilvus 3.
# Environment: PYTHON (interpreter used to create the venvs, default python3).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
VENVS="$(pwd)/.venvs"
PY="${PYTHON:-python3}"
mkdir -p "$VENVS"

# make_venv NAME CHECK_CMD PACKAGES...
make_venv() {
  local name="$1" check="$2"; shift 2
  local dir="$VENVS/$name" stamp="$VENVS/$name/.bench-reqs"
  local want="$*"
  if [[ -x "$dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
      && (cd "$dir" && eval "$check") >/dev/null 2>&1; then
    echo "venv $name: up to date ($want)"
    return 0
  fi
  echo "venv $name: installing $want"
  [[ -x "$dir/bin/python" ]] || "$PY" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@"
  (cd "$dir" && eval "$check") || { echo "error: venv $name is broken after install" >&2; exit 1; }
  echo "$want" > "$stamp"
}

make_venv client 'bin/python -c "import pymilvus, numpy, psutil; assert pymilvus.__version__ == \"3.0.2\", pymilvus.__version__"' \
  pymilvus==3.0.2 numpy psutil
make_venv milvus 'test -x bin/milvus-server && bin/python -c "import milvus"' \
  milvus==2.3.5
# milvus-lite imports pymilvus.grpc_gen for its gRPC server but does not declare the dependency.
make_venv lite 'bin/milvus-lite --help' \
  milvus-lite==3.2.2 pymilvus==3.0.2

echo "venvs ready under $VENVS"
