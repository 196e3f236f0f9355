#!/usr/bin/env bash
# Prepares this machine for @novum/driver-libvirt's tests (idempotent; a warm rerun takes well under a second):
#
#   1. installs the Debian packages (QEMU for x86, qemu-img, libvirt's daemon and virsh, busybox-static, and
#      dnsmasq-base, which libvirt only recommends but needs for DHCP on isolated networks), always
#      with --no-install-recommends (hypervisors.md §6);
#   2. gives /dev/kvm the group and mode Debian's udev rule would (pitfall P2: without it libvirt re-probes QEMU
#      on every call);
#   3. starts virtlogd, then libvirtd, when they are not running (no systemd here, P1), checking the state
#      letter in /proc/PID/stat because stopped daemons stay zombies (P8), and waits for the socket;
#   4. warms libvirt's QEMU capability cache (the first qemu:///system call probes QEMU for 12-14 s);
#   5. builds the tiny test guest once into $NOVUM_TEST_GUEST_DIR (default /var/cache/novum-test-guest):
#      a Debian *cloud* kernel taken out of its .deb (never installed as the host kernel), a busybox initramfs
#      whose /init prints `NOVUM-GUEST-BOOTED` on ttyS0 and runs `acpid -l` so ACPI shutdown works (P5, P6, P7),
#      and a small qcow2 root disk whose first bytes the guest prints.
#
# Prints the time of each step. Exit status is non-zero when anything is missing afterwards.
# Knobs: NOVUM_TEST_GUEST_DIR, NOVUM_LIBVIRT_WAIT_SECONDS (default 60).
set -euo pipefail

GUEST_DIR="${NOVUM_TEST_GUEST_DIR:-/var/cache/novum-test-guest}"
WAIT_SECONDS="${NOVUM_LIBVIRT_WAIT_SECONDS:-60}"
SOCKET=/run/libvirt/libvirt-sock
APT_PACKAGES="qemu-system-x86 qemu-utils libvirt-daemon-system libvirt-clients busybox-static dnsmasq-base"
# Bump when the guest recipe below changes: the cache is rebuilt when the stamp differs.
GUEST_RECIPE=3

started_at=$(date +%s.%N)
step_at=$started_at
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
step() { printf '[setup-libvirt] %s (+%ss, total %ss)\n' "$*" "$(elapsed "$step_at")" "$(elapsed "$started_at")"; step_at=$(date +%s.%N); }
die() { printf '[setup-libvirt] ERROR: %s\n' "$*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (installs packages, starts libvirtd)"

# One setup at a time: vitest may start this from several processes.
exec 9>/run/lock/novum-setup-libvirt.lock
flock -w 900 9 || die "another setup-libvirt.sh holds /run/lock/novum-setup-libvirt.lock"

# --- 1. packages -------------------------------------------------------------------------------------------------
missing=()
for pkg in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 -qq update
  apt-get -o DPkg::Lock::Timeout=900 -qq install -y --no-install-recommends "${missing[@]}" >/dev/null
  step "installed ${missing[*]}"
else
  step "packages present"
fi

# --- 2. /dev/kvm --------------------------------------------------------------------------------------------------
if [[ -e /dev/kvm ]]; then
  getent group kvm >/dev/null || groupadd -r kvm
  chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
fi

# --- 3. daemons ---------------------------------------------------------------------------------------------------
# alive PIDFILE: true when the pid file names a process that is not a zombie (P8: PID 1 does not reap here).
alive() {
  local pid state
  [[ -r $1 ]] || return 1
  pid=$(tr -dc '0-9' <"$1")
  [[ -n $pid && -r /proc/$pid/stat ]] || return 1
  state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat")
  [[ $state != Z && $state != X ]]
}
# running NAME: a live process with that exact command name exists (a daemon started without our pid file).
running() {
  local stat state
  for stat in /proc/[0-9]*/stat; do
    [[ $(cat "$stat" 2>/dev/null) =~ ^[0-9]+\ \((.*)\)\ ([A-Za-z]) ]] || continue
    state=${BASH_REMATCH[2]}
    [[ ${BASH_REMATCH[1]} == "$1" && $state != Z && $state != X ]] && return 0
  done
  return 1
}

if alive /run/virtlogd.pid || running virtlogd; then
  step "virtlogd running"
else
  virtlogd -d 9>&- # the daemons must not inherit the lock's descriptor, or they hold it for ever
  step "virtlogd started"
fi
if alive /run/libvirtd.pid || running libvirtd; then
  step "libvirtd running"
else
  rm -f "$SOCKET"
  libvirtd -d 9>&-
  step "libvirtd started"
fi
deadline=$(($(date +%s) + WAIT_SECONDS))
until [[ -S $SOCKET ]] && virsh -q -c "qemu:///system?socket=$SOCKET" uri >/dev/null 2>&1; do
  (($(date +%s) < deadline)) || die "libvirtd did not answer on $SOCKET within ${WAIT_SECONDS}s"
  sleep 0.1
done
step "socket $SOCKET answers"

# --- 4. capability cache --------------------------------------------------------------------------------------------
virsh -q -c qemu:///system domcapabilities --virttype qemu --arch x86_64 >/dev/null
step "QEMU capabilities cached"

# --- 5. the tiny guest ----------------------------------------------------------------------------------------------
if [[ -f $GUEST_DIR/recipe && $(cat "$GUEST_DIR/recipe") == "$GUEST_RECIPE" && -f $GUEST_DIR/vmlinuz && -f $GUEST_DIR/initramfs.img && -f $GUEST_DIR/root.qcow2 ]]; then
  step "guest cached in $GUEST_DIR"
else
  abi=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
  if [[ -z $abi ]]; then
    apt-get -o DPkg::Lock::Timeout=900 -qq update
    abi=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
  fi
  [[ -n $abi ]] || die "cannot resolve the package behind linux-image-cloud-amd64"
  work=$(mktemp -d /tmp/novum-guest-build.XXXXXX)
  chmod 0755 "$work" # apt-get download runs as _apt
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download -qq "$abi" >/dev/null)
  step "downloaded $abi"
  mkdir -p "$work/x"
  dpkg-deb --fsys-tarfile "$work"/"$abi"_*.deb | tar -x -C "$work/x" --wildcards './boot/vmlinuz-*' './lib/modules/*/kernel/drivers/*' './lib/modules/*/kernel/net/core/*'
  step "extracted kernel and modules"

  root="$work/initramfs"
  mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc/acpi/PWRF,lib/modules}
  cp /bin/busybox "$root/bin/busybox"
  moddir=$(echo "$work"/x/lib/modules/*)
  # Load order matters (P6): virtio_ring before virtio before the PCI transport and the devices.
  MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk virtio_console evdev button failover net_failover virtio_net"
  for m in $MODULES; do
    f=$(find "$moddir/kernel" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -n1)
    [[ -n $f ]] || { echo "[setup-libvirt] note: module $m not found (built in?)"; continue; }
    case $f in
      *.xz) xz -dc "$f" >"$root/lib/modules/$m.ko" ;;
      *.zst) zstd -qdc "$f" >"$root/lib/modules/$m.ko" ;;
      *) cp "$f" "$root/lib/modules/$m.ko" ;;
    esac
  done
  printf '%s\n' $MODULES >"$root/lib/modules/order"
  printf '#!/bin/sh\npoweroff -f\n' >"$root/etc/acpi/PWRF/00000080"
  chmod 0755 "$root/etc/acpi/PWRF/00000080"
  cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/order); do [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko 2>/dev/null; done
echo "NOVUM-GUEST-BOOTED uptime=$(cut -d' ' -f1 /proc/uptime)"
# P5: without -l busybox acpid wants /var/log/acpid.log and exits silently; then ACPI shutdown is ignored.
acpid -c /etc/acpi -l /dev/null
if [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up
  (udhcpc -i eth0 -q -n -t 20 -s /bin/true >/tmp/dhcp 2>&1; echo "NOVUM-GUEST-NET: $(grep -o 'lease of [0-9.]* obtained' /tmp/dhcp)") &
fi
seen=""
while :; do
  now=$(ls /sys/block | grep -E '^vd' | tr '\n' ' ')
  if [ "$now" != "$seen" ]; then
    echo "NOVUM-GUEST-DISKS: [$now]"
    for d in $now; do
      case " $seen " in *" $d "*) ;; *) echo "NOVUM-GUEST-DISK $d: $(head -c 48 /dev/$d 2>/dev/null | tr -dc 'A-Za-z0-9 :_-')" ;; esac
    done
    seen=$now
  fi
  sleep 1
done
INIT
  chmod 0755 "$root/init"
  mkdir -p "$GUEST_DIR"
  (cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$work/initramfs.img")
  cp "$work"/x/boot/vmlinuz-* "$work/vmlinuz"
  # The root disk: a marker in its first bytes (the guest prints them), 64 MiB virtual, qcow2.
  printf 'NOVUM-ROOT-DISK base image\n' >"$work/root.raw"
  truncate -s 64M "$work/root.raw"
  qemu-img convert -q -f raw -O qcow2 "$work/root.raw" "$work/root.qcow2"
  # A volume for attach tests: raw, with its own marker.
  printf 'NOVUM-VOLUME data\n' >"$work/volume.raw"
  truncate -s 8M "$work/volume.raw"
  for f in vmlinuz initramfs.img root.qcow2 volume.raw; do install -m 0644 "$work/$f" "$GUEST_DIR/$f"; done
  echo "$abi" >"$GUEST_DIR/kernel-package"
  echo "$GUEST_RECIPE" >"$GUEST_DIR/recipe"
  chmod 0755 "$GUEST_DIR"
  step "built the guest into $GUEST_DIR ($(du -sh "$GUEST_DIR" | cut -f1))"
fi

printf '[setup-libvirt] ready in %ss: %s (kernel from %s)\n' "$(elapsed "$started_at")" "$GUEST_DIR" "$(cat "$GUEST_DIR/kernel-package")"
