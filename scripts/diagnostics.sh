#!/usr/bin/env bash
# Runs the Effect language service's diagnostics on every project; warnings count as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for project in packages/*/tsconfig.src.json packages/*/tsconfig.test.json packages/*/tsconfig.scripts.json examples/*/tsconfig.json bench/tsconfig.json; do
  echo "effect diagnostics: $project"
  pnpm exec effect-language-service diagnostics --project "$project" --strict --format text || status=1
done
exit $status
