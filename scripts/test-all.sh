#!/usr/bin/env bash
# Novum's one test command: `bash scripts/test-all.sh` (also `pnpm test` and `.ci/run`).
#
# Made for a fresh machine of the kind CI uses: Debian 12, Node 20, root, only the npm registry and Debian apt
# reachable, PostgreSQL, MariaDB and RabbitMQ installed (usually running). It installs what is missing (pnpm,
# the Debian packages the tests need, the workspace's node modules), starts any stopped service, typechecks,
# runs every vitest project, and ends with one line: `N passed, N failed, N skipped`.
#
# Exit status is non-zero when a test failed, a test file failed to load, vitest failed, no test ran, or the
# typecheck or the build failed. CI=true is passed through untouched: tests refuse their local opt-outs in CI.
#
# Knobs (environment): NOVUM_SERVICE_WAIT_SECONDS (default 90), NOVUM_SKIP_SYSTEM_SETUP=1 (skip apt and
# services, e.g. on a developer machine that manages them itself).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PNPM_VERSION=10.34.9
# Debian packages the tests need; libvirt/LXC packages go here too.
APT_PACKAGES="python3-openstackclient python3-osc-placement qemu-system-x86 qemu-utils libvirt-daemon-system libvirt-clients busybox-static dnsmasq-base"
WAIT_SECONDS="${NOVUM_SERVICE_WAIT_SECONDS:-90}"
REPORT_DIR=.vitest-reports
REPORT_FILE="$REPORT_DIR/results.json"

# better-sqlite3 builds from source on Node 20; node-gyp must use the local headers, not download them.
export npm_config_nodedir=/usr
# CI=true stays as given (exported to every test process): tests refuse their local opt-outs in CI.
if [[ -n "${CI:-}" ]]; then export CI; fi

started_at=$SECONDS
if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s==> %s%s  (%ss)\n' "$bold" "$*" "$plain" "$((SECONDS - started_at))"; }
note() { printf '    %s\n' "$*"; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root for: $*"
  fi
}

# ---------------------------------------------------------------------------------------------------------------
step "pnpm $PNPM_VERSION"
PNPM=(pnpm)
if ! command -v pnpm >/dev/null 2>&1; then
  note "installing pnpm@$PNPM_VERSION globally"
  npm i -g "pnpm@$PNPM_VERSION" --no-fund --no-audit --loglevel=error
elif [[ "$(pnpm --version)" != "$PNPM_VERSION" ]]; then
  note "found pnpm $(pnpm --version); using pnpm@$PNPM_VERSION through npx for this run"
  PNPM=(npx -y "pnpm@$PNPM_VERSION")
fi
note "node $(node --version), pnpm $("${PNPM[@]}" --version), CI=${CI:-<unset>}"

# ---------------------------------------------------------------------------------------------------------------
if [[ "${NOVUM_SKIP_SYSTEM_SETUP:-}" == 1 ]]; then
  step "system setup skipped (NOVUM_SKIP_SYSTEM_SETUP=1)"
else
  step "Debian packages"
  missing=()
  for pkg in $APT_PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$pkg"); fi
  done
  if ((${#missing[@]})); then
    note "installing: ${missing[*]}"
    # The lock timeout waits for another apt/dpkg run (e.g. unattended-upgrades) instead of failing.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq install -y --no-install-recommends "${missing[@]}" >/dev/null
  else
    note "all present: $APT_PACKAGES"
  fi

  # wait_for NAME COMMAND...: retries COMMAND once a second until it succeeds or WAIT_SECONDS pass.
  wait_for() {
    local name=$1; shift
    local deadline=$((SECONDS + WAIT_SECONDS))
    until "$@" >/dev/null 2>&1; do
      ((SECONDS < deadline)) || die "$name did not answer within ${WAIT_SECONDS}s"
      sleep 1
    done
  }
  # The tests connect over TCP on loopback: PostgreSQL 5432, MariaDB 3306 (socket ping), AMQP 5672.
  pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }
  mariadb_up() { mysqladmin --connect-timeout=2 --silent ping >/dev/null 2>&1; }
  amqp_up() { timeout 2 bash -c '</dev/tcp/127.0.0.1/5672' >/dev/null 2>&1; }
  # A failed start command is reported, not fatal: wait_for then decides (it may be running but not answering yet).
  try_start() { as_root "$@" || note "($* exited with $?)"; }

  step "services: PostgreSQL, MariaDB, RabbitMQ"
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    note "PostgreSQL: not installed (apt-get install -y postgresql); its tests will fail"
  elif pg_up; then
    note "PostgreSQL: running"
  else
    note "PostgreSQL: starting"
    # shellcheck disable=SC2046  # one cluster version directory, as Debian lays it out
    try_start pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
    wait_for PostgreSQL pg_up
    note "PostgreSQL: up"
  fi

  if [[ ! -x /usr/sbin/mariadbd ]]; then
    note "MariaDB: not installed (apt-get install -y mariadb-server); its tests will fail"
  elif mariadb_up; then
    note "MariaDB: running"
  else
    note "MariaDB: starting"
    # /run is a tmpfs: after a reboot the socket directory is gone, and Debian's init script is not used here.
    as_root install -d -o mysql -g mysql /run/mysqld
    try_start start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_for MariaDB mariadb_up
    note "MariaDB: up"
  fi

  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    note "RabbitMQ: not installed (apt-get install -y rabbitmq-server); its tests will fail"
  elif amqp_up; then
    note "RabbitMQ: running"
  else
    note "RabbitMQ: starting"
    try_start rabbitmq-server -detached
    wait_for RabbitMQ amqp_up
    note "RabbitMQ: up"
  fi

  # The hypervisors the driver tests run on (idempotent; each script prints its own timings).
  step "LXC (driver-lxc tests)"
  bash scripts/setup-lxc.sh
  step "libvirt + QEMU (driver-libvirt tests): daemons and the tiny test guest"
  bash scripts/setup-libvirt.sh
fi

# ---------------------------------------------------------------------------------------------------------------
step "pnpm install"
if [[ -f pnpm-lock.yaml ]]; then
  "${PNPM[@]}" install --frozen-lockfile --reporter=append-only
else
  note "no pnpm-lock.yaml: plain install"
  "${PNPM[@]}" install --reporter=append-only
fi

# ---------------------------------------------------------------------------------------------------------------
step "typecheck"
typecheck_ok=1
bash scripts/typecheck.sh || typecheck_ok=0

# ---------------------------------------------------------------------------------------------------------------
step "build (tsup: ESM + .d.ts for every package, and the reference server bundle)"
build_ok=1
"${PNPM[@]}" -r --filter "./packages/*" --filter "./examples/*" run build >/dev/null 2>.vitest-build.log || {
  build_ok=0
  cat .vitest-build.log >&2
}
rm -f .vitest-build.log

# ---------------------------------------------------------------------------------------------------------------
step "vitest (every project)"
rm -rf "$REPORT_DIR"
mkdir -p "$REPORT_DIR"
vitest_rc=0
"${PNPM[@]}" exec vitest run --reporter=default --reporter=json --outputFile="$REPORT_FILE" || vitest_rc=$?

# ---------------------------------------------------------------------------------------------------------------
step "summary (report: $REPORT_FILE)"
if ((typecheck_ok == 0)); then printf 'typecheck FAILED (see above)\n' >&2; fi
if ((build_ok == 0)); then printf 'build FAILED (see above)\n' >&2; fi
summary_rc=0
node scripts/summarize-vitest.mjs --vitest-exit-code "$vitest_rc" "$REPORT_FILE" || summary_rc=$?
if ((summary_rc != 0 || typecheck_ok == 0 || build_ok == 0)); then exit 1; fi
