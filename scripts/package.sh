#!/bin/sh
# Builds the production bundles and one platform-specific .vsix per target (default: linux-x64),
# written as latent-lens-<target>-<version>.vsix in the project folder.
#   sh scripts/package.sh [target ...]
#
# onnxruntime-node is external to the bundles and its npm package carries every platform's native
# binary (about 290 MB). Each .vsix gets .vscodeignore's file list plus the one binary folder of its
# target, so `vsce package --target` stays honest. Targets:
#   linux-x64     bin/napi-v6/linux/x64     (built and tested here, by `npm run package`)
#   linux-arm64   bin/napi-v6/linux/arm64
#   darwin-arm64  bin/napi-v6/darwin/arm64
#   win32-x64     bin/napi-v6/win32/x64     (includes DirectML)
#   win32-arm64   bin/napi-v6/win32/arm64
#   darwin-x64    not offered: onnxruntime-node 1.30 ships no macOS Intel binary.
# Targets other than linux-x64 are packaged the same way but are not tested on this project's CI.
set -e
cd "$(dirname "$0")/.."

[ $# -gt 0 ] || set -- linux-x64

ignore_file=$(mktemp)
trap 'rm -f "$ignore_file"' EXIT

# Source maps of a development build would otherwise linger in dist/ and be packaged.
rm -rf dist
node esbuild.mjs --production

for target in "$@"; do
  case "$target" in
    linux-x64) ort=linux/x64 ;;
    linux-arm64) ort=linux/arm64 ;;
    darwin-arm64) ort=darwin/arm64 ;;
    win32-x64) ort=win32/x64 ;;
    win32-arm64) ort=win32/arm64 ;;
    darwin-x64)
      echo "latent-lens: cannot package darwin-x64: onnxruntime-node 1.30 has no macOS Intel binary." >&2
      exit 1 ;;
    *)
      echo "latent-lens: unknown target '$target'; use linux-x64, linux-arm64, darwin-arm64, win32-x64 or win32-arm64." >&2
      exit 1 ;;
  esac
  binary_dir=node_modules/onnxruntime-node/bin/napi-v6/$ort
  if [ ! -f "$binary_dir/onnxruntime_binding.node" ]; then
    echo "latent-lens: $binary_dir/onnxruntime_binding.node is missing; run npm ci first." >&2
    exit 1
  fi
  { cat .vscodeignore; echo "!$binary_dir/**"; } > "$ignore_file"
  # No repository URL is published yet; relative README links stay as they are in a local package.
  node_modules/.bin/vsce package --target "$target" --ignoreFile "$ignore_file" \
    --allow-missing-repository --no-rewrite-relative-links
done
