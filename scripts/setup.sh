#!/bin/sh
# Installs dependencies when package-lock.json changed since the last install, then builds.
# Both README commands start here, so a fresh clone needs nothing else.
set -e
cd "$(dirname "$0")/.."
stamp=node_modules/.latent-lens-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "latent-lens: installing dependencies (npm ci)..." >&2
  npm ci --no-fund --no-audit >&2
  echo "$want" > "$stamp"
fi
node esbuild.mjs
