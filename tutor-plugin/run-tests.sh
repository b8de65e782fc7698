#!/usr/bin/env bash
# Run the Tutor plugin's tests on Debian's python3 (no Tutor, no PyPI): every patch and template
# rendered as Tutor 21 renders them, checked as YAML / Python / env files / shell (bash -n, shellcheck).
# Needs: python3-jinja2 python3-yaml shellcheck (Debian bookworm).
#   --install-deps   apt-get install whichever of them is missing (root only), then run.
# Ends with "tutor-plugin: N passed, N failed"; exits non-zero on any failure, skip or empty run.
set -uo pipefail
cd "$(dirname "$0")" || exit 1

APT_PACKAGES=(python3-jinja2 python3-yaml shellcheck)
PROBE='import jinja2, yaml, tomllib'

if [ "${1:-}" = "--install-deps" ]; then
  shift
  missing=()
  for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# Debian's packages live in the system interpreter, which a pyenv or venv python3 on PATH hides.
python=""
for candidate in ${TUTOR_PLUGIN_PYTHON:-} /usr/bin/python3 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "$PROBE" >/dev/null 2>&1; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  echo "tutor-plugin: no Python 3.11+ with Jinja2 and PyYAML found." >&2
  echo "  apt-get install -y ${APT_PACKAGES[*]}   (or run this script with --install-deps)" >&2
  echo "tutor-plugin: 0 passed, 1 failed"
  exit 1
fi
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "tutor-plugin: shellcheck not found: apt-get install -y shellcheck (or --install-deps)" >&2
  echo "tutor-plugin: 0 passed, 1 failed"
  exit 1
fi

exec "$python" runtests.py "$@"
