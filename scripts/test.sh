#!/bin/sh
# Runs every test file under test/ with node's built-in runner (TypeScript through tsx).
set -e
cd "$(dirname "$0")/.."
files=$(find test -name '*.test.ts' -not -path 'test/e2e/*' | sort)
exec node --import tsx --test --test-concurrency=1 $files
