#!/usr/bin/env bash
# Real-VS-Code tests: installs the project's dependencies (scripts/setup.sh), code-server and Chromium
# (test/e2e/setup.sh), packages the extension,
# then runs test/e2e/*.e2e.test.ts. Screenshots and VS Code's logs land in test-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
sh scripts/setup.sh
bash test/e2e/setup.sh
sh scripts/package.sh linux-x64
exec node --import tsx --test --test-concurrency=1 test/e2e/*.e2e.test.ts
