import { statfsSync, readFileSync } from 'node:fs'
import os from 'node:os'

/** What the host offers, read from `/proc/meminfo`, the CPU count and the filesystem of the lxcpath. */
export interface HostCapacity {
  readonly vcpus: number
  readonly memoryMb: number
  readonly memoryAvailableMb: number
  readonly diskTotalGb: number
  readonly diskFreeGb: number
  readonly diskUsedGb: number
  readonly cpuModel: string
  readonly arch: string
}

const GIB = 1024 ** 3

/** Parses `/proc/meminfo` text into kB values by field name. */
export function parseMeminfo(text: string): Map<string, number> {
  const fields = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)/.exec(line)
    if (m) fields.set(m[1]!, Number(m[2]))
  }
  return fields
}

/** Nova's architecture names for Node's `os.arch()`. */
export function novaArch(nodeArch: string = os.arch()): string {
  const map: Readonly<Record<string, string>> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'i686', arm: 'armv7l', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' }
  return map[nodeArch] ?? nodeArch
}

/** Nova's integer form of a dotted version (`5.0.2` → 5000002: major × 10⁶ + minor × 10³ + patch). */
export function versionNumber(version: string): number {
  const [major = 0, minor = 0, patch = 0] = version.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0)
  return major * 1_000_000 + minor * 1_000 + patch
}

/** Reads the host's capacity; `path` is the directory whose filesystem holds the containers. */
export function readHostCapacity(path: string): HostCapacity {
  const meminfo = parseMeminfo(readFileSync('/proc/meminfo', 'utf8'))
  const totalKb = meminfo.get('MemTotal') ?? Math.floor(os.totalmem() / 1024)
  const availableKb = meminfo.get('MemAvailable') ?? Math.floor(os.freemem() / 1024)
  const fs = statfsSync(path)
  const total = fs.blocks * fs.bsize
  const free = fs.bavail * fs.bsize
  return {
    vcpus: os.availableParallelism(),
    memoryMb: Math.floor(totalKb / 1024),
    memoryAvailableMb: Math.floor(availableKb / 1024),
    diskTotalGb: Math.floor(total / GIB),
    diskFreeGb: Math.floor(free / GIB),
    diskUsedGb: Math.max(0, Math.floor(total / GIB) - Math.floor(free / GIB)),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    arch: novaArch(),
  }
}
