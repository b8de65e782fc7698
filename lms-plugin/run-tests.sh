#!/usr/bin/env bash
# Run the LMS companion's tests on Debian's Django (no openedx-events, no edx-platform).
# Needs: python3-django python3-jwt python3-cryptography python3-attr (Debian bookworm).
#   --install-deps   apt-get install whichever of them is missing (root only), then run.
# Ends with "lms-plugin: N passed, N failed"; exits non-zero on any failure, skip or empty run.
set -uo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(python3-django python3-jwt python3-cryptography python3-attr)
PROBE='import django, jwt, cryptography, attr, tomllib'

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
for candidate in ${LMS_PLUGIN_PYTHON:-} /usr/bin/python3 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "$PROBE" >/dev/null 2>&1; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  echo "lms-plugin: no Python 3.11+ with Django, PyJWT, cryptography and attrs found." >&2
  echo "  apt-get install -y ${APT_PACKAGES[*]}   (or run this script with --install-deps)" >&2
  echo "lms-plugin: 0 passed, 1 failed"
  exit 1
fi

exec "$python" runtests.py "$@"
