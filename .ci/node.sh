# shellcheck shell=bash
# Sourced by .ci/run (or by hand: `source .ci/node.sh`): puts Node 22 LTS first on PATH. Without
# network access to nodejs.org, the official binaries come from the npm registry (package
# node-linux-<arch>, which carries bin/node and the include/node headers), cached per version. The
# headers become npm's nodedir, so better-sqlite3 compiles against this Node (no prebuild download).
NODE_VERSION=22.23.5

ci_node_ok() { node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a===22&&b>=12?0:1)' 2>/dev/null; }

if ! ci_node_ok; then
  case "$(uname -m)" in
    x86_64) node_arch=x64 ;;
    aarch64|arm64) node_arch=arm64 ;;
    *) echo "no Node $NODE_VERSION package for $(uname -m)" >&2; return 1 ;;
  esac
  node_home="${NODE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/openedx-lti-provider}/node-v$NODE_VERSION-linux-$node_arch"
  if [ ! -x "$node_home/bin/node" ]; then
    node_tmp=$(mktemp -d)
    (cd "$node_tmp" && npm pack --silent "node-linux-$node_arch@$NODE_VERSION" >/dev/null)
    mkdir -p "$node_home.partial"
    tar xzf "$node_tmp"/node-linux-"$node_arch"-*.tgz -C "$node_home.partial" --strip-components=1
    rm -rf "$node_tmp" "$node_home"
    mv "$node_home.partial" "$node_home" # only a complete copy is ever used
  fi
  export PATH="$node_home/bin:$PATH"
  export npm_config_nodedir="$node_home"
  hash -r
fi
ci_node_ok || { echo "Node 22.12+ needed, have $(node -v 2>/dev/null || echo none)" >&2; return 1; }
echo "node $(node -v) ($(command -v node)), npm $(npm -v)"
