#!/usr/bin/env bash
# Installs and checks what @novum/driver-lxc and its tests need on a Debian 12 host: `bash scripts/setup-lxc.sh`.
#
# Idempotent: a second run installs nothing and only re-checks (about 0.1 s). Needs root (or sudo) for apt.
#
# - Debian packages (always --no-install-recommends, so no lxcfs, apparmor, debootstrap, …):
#     lxc             the lxc-* tools; its dependency liblxc-common ships the `busybox` template
#                     (/usr/share/lxc/templates/lxc-busybox). dnsmasq-base and nftables come in as dependencies but
#                     are never started: nothing here runs lxc-net (no lxcbr0, no NAT to the outside).
#     busybox-static  the statically linked busybox the busybox template copies into each container.
#   lxc-templates is NOT needed (it holds distribution templates that download from the internet).
# - cgroups: checks that the cgroup hierarchy is mounted (v1 controllers and/or cgroup2) and prints the layout the
#   driver will detect; on a host where /sys/fs/cgroup is empty it mounts cgroup2 there.
# - A smoke check: create, start, attach, stop -k and destroy one busybox container under a private lxcpath.
#
# Knobs (environment): NOVUM_LXC_SETUP_SKIP_SMOKE=1 (skip the smoke check).
# Exits non-zero when a package cannot be installed or the smoke check fails.
set -euo pipefail

PACKAGES=(lxc busybox-static)
started=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
note() { printf '[setup-lxc] %s\n' "$*"; }
die() { printf '[setup-lxc] ERROR: %s\n' "$*" >&2; exit 1; }
as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root for: $*"
  fi
}

# --- packages --------------------------------------------------------------------------------------------------
missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$pkg"); fi
done
if ((${#missing[@]})); then
  t=$(date +%s.%N)
  note "installing: ${missing[*]}"
  # The lock timeout waits for another apt/dpkg run (another job's install) instead of failing.
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 -qq install -y --no-install-recommends "${missing[@]}" >/dev/null; then
    note "install failed; refreshing the package lists and retrying"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 -qq update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 -qq install -y --no-install-recommends "${missing[@]}" >/dev/null
  fi
  note "installed in $(elapsed "$t") s"
else
  note "packages present: ${PACKAGES[*]}"
fi

for tool in lxc-create lxc-start lxc-stop lxc-attach lxc-freeze lxc-unfreeze lxc-info lxc-destroy lxc-wait lxc-ls; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing after the install"
done
[[ -x /usr/share/lxc/templates/lxc-busybox ]] || die "the busybox template (/usr/share/lxc/templates/lxc-busybox) is missing"
command -v busybox >/dev/null 2>&1 || die "busybox is missing after the install"

# --- cgroups ---------------------------------------------------------------------------------------------------
v1=$(awk '$3 == "cgroup" { n++ } END { print n + 0 }' /proc/self/mounts)
v2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if ((v1 == 0)) && [[ -z "$v2" ]]; then
  note "no cgroup hierarchy is mounted: mounting cgroup2 on /sys/fs/cgroup"
  as_root mount -t cgroup2 cgroup2 /sys/fs/cgroup || die "could not mount cgroup2 on /sys/fs/cgroup"
  v2=/sys/fs/cgroup
fi
if ((v1 > 0)) && [[ -n "$v2" ]]; then layout="hybrid (v1 controllers + cgroup2 at $v2)"
elif ((v1 > 0)); then layout="legacy (cgroup v1)"
else layout="unified (cgroup2 at $v2)"
fi
note "cgroup layout: $layout"

# --- smoke check -----------------------------------------------------------------------------------------------
if [[ "${NOVUM_LXC_SETUP_SKIP_SMOKE:-}" != 1 ]]; then
  t=$(date +%s.%N)
  dir=$(mktemp -d /tmp/novum-lxc-setup.XXXXXX)
  cleanup() {
    lxc-stop -P "$dir" -n smoke -k >/dev/null 2>&1 || true
    lxc-destroy -P "$dir" -n smoke >/dev/null 2>&1 || true
    rm -rf "$dir"
  }
  trap cleanup EXIT
  printf 'lxc.net.0.type = empty\n' >"$dir/empty.conf"
  timeout 60 lxc-create -P "$dir" -n smoke -t busybox -f "$dir/empty.conf" >"$dir/create.log" 2>&1 || { cat "$dir/create.log" >&2; die "lxc-create failed"; }
  timeout 30 lxc-start -P "$dir" -n smoke || die "lxc-start failed"
  timeout 30 lxc-wait -P "$dir" -n smoke -s RUNNING -t 20 || die "the smoke container did not reach RUNNING"
  out=$(timeout 30 lxc-attach -P "$dir" -n smoke -- /bin/echo novum-lxc-ok) || die "lxc-attach failed"
  [[ "$out" == novum-lxc-ok ]] || die "lxc-attach printed '$out'"
  timeout 30 lxc-stop -P "$dir" -n smoke -k || die "lxc-stop -k failed"
  timeout 30 lxc-destroy -P "$dir" -n smoke >/dev/null || die "lxc-destroy failed"
  note "smoke check (create, start, attach, stop -k, destroy) passed in $(elapsed "$t") s"
fi

note "done in $(elapsed "$started") s ($(lxc-start --version 2>/dev/null || echo '?'))"
