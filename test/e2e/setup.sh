#!/usr/bin/env bash
# Prepares this machine for the real-VS-Code tests: Debian's Chromium and ripgrep, and code-server
# (a full VS Code 1.100.3 that runs offline) from npm into .vscode-test/code-server (gitignored).
# Idempotent: does nothing when everything is in place. Recipe and its reasons:
# ../shared/notes/vscode-e2e-offline.md
set -euo pipefail
cd "$(dirname "$0")/../.."

CODE_SERVER_VERSION=4.100.3 # the newest line that runs on Node 20 (its postinstall checks for v20)
dir=.vscode-test/code-server
stamp=$dir/installed-$CODE_SERVER_VERSION

say() { echo "latent-lens e2e setup: $*" >&2; }
fail() { say "ERROR: $*"; exit 1; }

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v rg >/dev/null || missing+=(ripgrep)
# kerberos, a native module of code-server, is compiled from source against these headers.
[ -f "$stamp" ] || dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    fail "missing Debian packages: ${missing[*]}. Install them as root: apt-get update && apt-get install -y ${missing[*]}"
  fi
  say "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq || fail "apt-get update failed (see above)"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >&2 \
    || fail "apt-get install ${missing[*]} failed (see above)"
fi

if [ ! -f "$stamp" ]; then
  say "installing code-server $CODE_SERVER_VERSION into $dir (about 1-2 minutes)"
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$node_major" = 20 ] || fail "code-server $CODE_SERVER_VERSION installs only under Node 20 (this is Node $node_major)"

  # @vscode/ripgrep's postinstall downloads rg from GitHub unless its cache already holds the archive:
  # put Debian's rg there.
  rg_cache=${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11
  mkdir -p "$rg_cache"
  tar czf "$rg_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$(command -v rg)")" rg

  rm -rf "$dir"
  mkdir -p "$dir"
  # A package.json of its own keeps npm from walking up into the project's package.json, and
  # approves the two install scripts that must run (code-server's postinstall installs VS Code's
  # own dependencies; argon2 fetches or builds its binding).
  cat > "$dir/package.json" <<'EOF'
{
  "name": "latent-lens-e2e-code-server",
  "private": true,
  "allowScripts": { "code-server": true, "argon2": true }
}
EOF
  # --unsafe-perm: the postinstall refuses to run as root without it (npm 11 warns it is unknown,
  # but still passes it on). npm_config_yes: the postinstall runs `npx node-gyp`, which would ask.
  (cd "$dir" && npm_config_yes=true npm install --unsafe-perm --save-exact --no-fund --no-audit --loglevel=error \
    "code-server@$CODE_SERVER_VERSION" >&2) \
    || fail "npm install code-server@$CODE_SERVER_VERSION failed (see above)"

  # code-server writes a config file and logs on its first start: keep them out of $HOME.
  xdg=$(mktemp -d)
  version=$(XDG_CONFIG_HOME=$xdg XDG_DATA_HOME=$xdg "$dir/node_modules/.bin/code-server" --version 2>&1) || true
  rm -rf "$xdg"
  case "$version" in
    *"$CODE_SERVER_VERSION "*) ;;
    *) fail "code-server does not start after install; it printed: $version" ;;
  esac
  [ -e "$dir/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ] \
    || fail "code-server's postinstall did not complete (VS Code's ripgrep is missing); see the npm output above"
  touch "$stamp"
fi

say "ready (code-server $CODE_SERVER_VERSION, $(chromium --version 2>/dev/null | head -n1))"
