#!/usr/bin/env bash
# Install the benchmark peers: AUTO-07p and gfortran from Debian, xpplab and
# bice from PyPI into a separate virtual environment that also holds hopdyn
# (editable), so that the project's own .venv stays as it is.
#
#   bash benchmarks/install_peers.sh          # venv in /tmp/bench-venv
#   BENCH_VENV=/some/dir bash benchmarks/install_peers.sh
#
# Needs root for apt-get.  Afterwards run:
#   "${BENCH_VENV:-/tmp/bench-venv}"/bin/python benchmarks/run.py
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${BENCH_VENV:-/tmp/bench-venv}"

if ! dpkg-query -W -f '${Status}' auto-07p 2>/dev/null | grep -q "ok installed" \
    || ! command -v gfortran > /dev/null; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y auto-07p gfortran
fi

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -e .
"$venv/bin/python" -m pip install -q -r benchmarks/requirements.txt

"$venv/bin/python" - <<'PY'
import importlib.metadata as m
import shutil
import subprocess

for name in ("hopdyn", "xpplab", "bice", "numpy", "scipy"):
    print(f"{name} {m.version(name)}")
auto = subprocess.run(
    ["dpkg-query", "-W", "-f", "${Version}", "auto-07p"],
    capture_output=True, text=True,
)
print(f"auto-07p {auto.stdout or 'missing'}; gfortran {shutil.which('gfortran')}")
PY
