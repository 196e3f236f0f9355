#!/usr/bin/env bash
# Typechecks the whole workspace (`pnpm typecheck`): the composite packages through the root tsconfig.json's
# project references (`tsc -b`), then every other TypeScript project, the examples, test/ and scripts/, with
# `tsc -p <dir> --noEmit`. Exits non-zero if any of them has errors.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TSC=./node_modules/.bin/tsc
[[ -x $TSC ]] || { echo "typecheck: $TSC not found; run pnpm install first" >&2; exit 1; }
status=0

echo "tsc -b (packages)"
"$TSC" -b || status=1

for cfg in examples/*/tsconfig.json test/tsconfig.json scripts/tsconfig.json packages/*/bench/tsconfig.json packages/*/tsconfig.tools.json examples/*/bench/tsconfig.json; do
  [[ -f $cfg ]] || continue
  dir=$(dirname "$cfg")
  if grep -Eq '"composite"[[:space:]]*:[[:space:]]*true' "$cfg"; then
    echo "$dir: composite, expected in the root tsconfig.json references" && continue
  fi
  echo "tsc -p $cfg --noEmit"
  out=$("$TSC" -p "$cfg" --noEmit --pretty false 2>&1) && continue
  if [[ $(grep -c 'error TS' <<<"$out") -eq 1 ]] && grep -q 'error TS18003' <<<"$out"; then
    echo "    $dir has no sources yet; skipped"
    continue
  fi
  printf '%s\n' "$out"
  status=1
done

exit "$status"
