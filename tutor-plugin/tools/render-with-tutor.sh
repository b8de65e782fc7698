#!/usr/bin/env bash
# Render this plugin with Tutor itself, once, and check the result (tools/check_tutor_env.py).
#   tools/render-with-tutor.sh <tutor source dir>     (a checkout of overhangio/tutor, v21)
# Runs on Debian's python3 with: python3-click python3-jinja2 python3-yaml python3-appdirs
# python3-importlib-resources python3-importlib-metadata python3-typing-extensions
# python3-mypy-extensions python3-pycryptodome python3-packaging shellcheck.
# Debian ships pycryptodome as "Cryptodome" (3.11): a shim directory maps it to "Crypto" and adds
# the RsaKey attributes 3.17 has. The plugin is built into a wheel and installed there (pip, offline).
set -euo pipefail
tutor_src=$(cd "${1:?usage: $0 <tutor source dir>}" && pwd)
plugin_dir=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

shims="$work/shims"
mkdir -p "$shims"
ln -s /usr/lib/python3/dist-packages/Cryptodome "$shims/Crypto"
cat > "$shims/sitecustomize.py" <<'PY'
from Crypto.PublicKey.RSA import RsaKey
if not hasattr(RsaKey, "dq"):
    RsaKey.dp = property(lambda k: k.d % (k.p - 1))
    RsaKey.dq = property(lambda k: k.d % (k.q - 1))
    RsaKey.invq = property(lambda k: pow(k.q, -1, k.p))
PY
cp -r "$plugin_dir" "$work/source"   # pip writes build files next to the sources
/usr/bin/python3 -m pip wheel --quiet --no-deps --no-build-isolation --no-index -w "$work/wheel" "$work/source"
/usr/bin/python3 -m pip install --quiet --no-deps --no-index --target "$shims" "$work"/wheel/*.whl

export PYTHONPATH="$tutor_src:$shims" TUTOR_ROOT="$work/root" TUTOR_PLUGINS_ROOT="$work/plugins"
printf 'from tutor.commands.cli import main\nmain()\n' > "$shims/tutor_main.py"
tutor() {
  local out status=0
  out=$(/usr/bin/python3 "$shims/tutor_main.py" "$@" 2>&1) || status=$?
  grep -v "running Tutor as root" <<<"$out" || true
  return "$status"
}

tutor plugins enable lti_provider
tutor config save --set LMS_HOST=learn.example.org --set ENABLE_HTTPS=true \
  --set LTI_PROVIDER_REPOSITORY=https://git.example.org/openedx-lti-provider.git
/usr/bin/python3 "$plugin_dir/tools/check_tutor_env.py" relay-redis-https
tutor config save --set ENABLE_HTTPS=false --set LTI_PROVIDER_SESSION_HANDOFF=token \
  --set LTI_PROVIDER_KAFKA_BOOTSTRAP_SERVERS=kafka:9092 \
  --set LTI_PROVIDER_KAFKA_SCHEMA_REGISTRY_URL=http://schema-registry:8081
/usr/bin/python3 "$plugin_dir/tools/check_tutor_env.py" token-kafka-http
