#!/usr/bin/env bash
# Novum's one start command: `bash scripts/start.sh [server options]` (also `pnpm start`).
#
# Installs what the reference server needs on a fresh machine (Debian 12, Node 20, only the npm registry
# reachable) and starts it on its embedded default: SQLite, the in-process transport and the fake driver.
# Arguments are passed to the server, e.g. `bash scripts/start.sh --help`.
set -euo pipefail

# The data directory (default `.novum`) is relative to where the operator ran this, not to the repository.
export NOVUM_INVOKED_FROM="${NOVUM_INVOKED_FROM:-$PWD}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PNPM_VERSION=10.34.9
# better-sqlite3 builds from source on Node 20; node-gyp must use the local headers, not download them.
export npm_config_nodedir=/usr

PNPM=(pnpm)
if ! command -v pnpm >/dev/null 2>&1; then
  echo "==> installing pnpm@$PNPM_VERSION globally" >&2
  npm i -g "pnpm@$PNPM_VERSION" --no-fund --no-audit --loglevel=error
elif [[ "$(pnpm --version)" != "$PNPM_VERSION" ]]; then
  echo "==> found pnpm $(pnpm --version); using pnpm@$PNPM_VERSION through npx" >&2
  PNPM=(npx -y "pnpm@$PNPM_VERSION")
fi

echo "==> pnpm install" >&2
if [[ -f pnpm-lock.yaml ]]; then
  "${PNPM[@]}" install --frozen-lockfile --reporter=append-only >&2
else
  "${PNPM[@]}" install --reporter=append-only >&2
fi

echo "==> building the reference server" >&2
"${PNPM[@]}" --filter @novum/example-reference-server run build >&2

echo "==> starting the reference server" >&2
# NOTE: no `--` before "$@": pnpm 10 passes everything after the script name to it, and would pass a `--` on
# too, which makes the server's option parser treat every following option as a positional argument.
exec "${PNPM[@]}" --filter @novum/example-reference-server start "$@"
