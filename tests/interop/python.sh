#!/usr/bin/env bash
# Finds a Python that has `safetensors` and numpy for the interop test (read_checkpoint.py).
# Prints the interpreter's path and exits 0, or prints the reason there is none and exits 1:
# the test is then skipped, never failed.
#
# Debian 12 has no python3-safetensors, so a virtual environment is made once under
# build/interop-venv (with --system-site-packages, so Debian's python3-numpy is used when
# installed) and safetensors (and numpy when missing) come from PyPI with pip. It is reused while
# it works; without a network the first setup fails and the test is skipped.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${YOLO_INTEROP_VENV:-$root/build/interop-venv}
probe='import safetensors, numpy'

# Debian's interpreter first (it sees python3-numpy), then whatever python3 is on PATH.
py=""
for c in /usr/bin/python3 "$(command -v python3 2>/dev/null)"; do
  [ -n "$c" ] && [ -x "$c" ] && { py=$c; break; }
done
[ -n "$py" ] || { echo "no python3"; exit 1; }

# Already there: the cached venv, or a python3 with both installed.
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$probe" 2>/dev/null; then
  echo "$venv/bin/python"
  exit 0
fi
if "$py" -c "$probe" 2>/dev/null; then
  echo "$py"
  exit 0
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
if ! "$py" -m venv --system-site-packages "$venv" >"$log" 2>&1; then
  rm -rf "$venv"
  echo "python3 -m venv failed (install python3-venv): $(tail -n 1 "$log")"
  exit 1
fi
pkgs=(safetensors)
"$venv/bin/python" -c 'import numpy' 2>/dev/null || pkgs+=(numpy)
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --timeout 15 --retries 1 "${pkgs[@]}" >"$log" 2>&1; then
  rm -rf "$venv"
  echo "pip install ${pkgs[*]} failed (no network?): $(grep -v '^\s*$' "$log" | tail -n 1)"
  exit 1
fi
if ! "$venv/bin/python" -c "$probe" >"$log" 2>&1; then
  rm -rf "$venv"
  echo "safetensors does not import after pip install: $(tail -n 1 "$log")"
  exit 1
fi
echo "$venv/bin/python"
