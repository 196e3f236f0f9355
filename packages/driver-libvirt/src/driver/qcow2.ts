import { open } from 'node:fs/promises'
import { ComputeError } from '@novum/core'

/** What {@link writeQcow2Overlay} makes. */
export interface Qcow2OverlayOptions {
  /** The guest-visible size in bytes (a multiple of 512). */
  readonly virtualSizeBytes: number
  /** The image the overlay reads unwritten clusters from (an absolute path). */
  readonly backingFile: string
  /** The backing image's format (`qcow2`, `raw`), recorded so QEMU never probes it. */
  readonly backingFormat: string
}

const CLUSTER_BITS = 16
const CLUSTER = 1 << CLUSTER_BITS
const HEADER_LENGTH = 104
const EXT_BACKING_FORMAT = 0xe2792aca

/**
 * Writes an empty qcow2 (version 3) overlay on a backing image: what `qemu-img create -f qcow2 -b <backing>
 * -F <format> <path> <size>` writes, without a process. The layout follows QEMU's `docs/interop/qcow2.txt`:
 * the header with a backing-format extension and the backing file name in cluster 0, the refcount table in
 * cluster 1, one refcount block in cluster 2 (clusters 0–3 referenced once, 16-bit refcounts), and an all-zero L1
 * table in cluster 3. 64 KiB clusters, no compression, no lazy refcounts. `qemu-img check` finds it clean (tested).
 *
 * The file is created exclusively: an existing file is an error.
 */
export async function writeQcow2Overlay(path: string, options: Qcow2OverlayOptions): Promise<void> {
  const size = options.virtualSizeBytes
  if (!Number.isSafeInteger(size) || size <= 0 || size % 512 !== 0) throw new ComputeError('INVALID', `a qcow2 size must be a positive multiple of 512, not ${size}`)
  const backing = Buffer.from(options.backingFile, 'utf8')
  const format = Buffer.from(options.backingFormat, 'utf8')
  if (backing.length === 0 || backing.length > 1023) throw new ComputeError('INVALID', `a qcow2 backing file name must have 1 to 1023 bytes, not ${backing.length}`)
  if (format.length === 0 || format.length > 16) throw new ComputeError('INVALID', `bad backing format "${options.backingFormat}"`)
  const l2Entries = CLUSTER / 8
  const l1Size = Math.ceil(size / (CLUSTER * l2Entries))
  if (l1Size * 8 > CLUSTER) throw new ComputeError('INVALID', `a ${size}-byte overlay needs more than one L1 cluster`)

  const pad8 = (n: number) => (n + 7) & ~7
  const extensions = 8 + pad8(format.length) + 8
  const backingOffset = HEADER_LENGTH + extensions
  const refcountTable = CLUSTER
  const refcountBlock = 2 * CLUSTER
  const l1Table = 3 * CLUSTER

  const cluster0 = Buffer.alloc(backingOffset + backing.length)
  cluster0.write('QFI\xfb', 0, 'latin1')
  cluster0.writeUInt32BE(3, 4) // version
  cluster0.writeBigUInt64BE(BigInt(backingOffset), 8)
  cluster0.writeUInt32BE(backing.length, 16)
  cluster0.writeUInt32BE(CLUSTER_BITS, 20)
  cluster0.writeBigUInt64BE(BigInt(size), 24)
  cluster0.writeUInt32BE(0, 32) // no encryption
  cluster0.writeUInt32BE(l1Size, 36)
  cluster0.writeBigUInt64BE(BigInt(l1Table), 40)
  cluster0.writeBigUInt64BE(BigInt(refcountTable), 48)
  cluster0.writeUInt32BE(1, 56) // refcount table clusters
  cluster0.writeUInt32BE(0, 60) // snapshots
  cluster0.writeBigUInt64BE(0n, 64)
  cluster0.writeBigUInt64BE(0n, 72) // incompatible features
  cluster0.writeBigUInt64BE(0n, 80) // compatible features
  cluster0.writeBigUInt64BE(0n, 88) // autoclear features
  cluster0.writeUInt32BE(4, 96) // refcount order: 16-bit refcounts
  cluster0.writeUInt32BE(HEADER_LENGTH, 100)
  let at = HEADER_LENGTH
  cluster0.writeUInt32BE(EXT_BACKING_FORMAT, at)
  cluster0.writeUInt32BE(format.length, at + 4)
  format.copy(cluster0, at + 8)
  at += 8 + pad8(format.length)
  at += 8 // end of extensions: type 0, length 0 (already zero)
  backing.copy(cluster0, at)

  const table = Buffer.alloc(8)
  table.writeBigUInt64BE(BigInt(refcountBlock))
  const block = Buffer.alloc(8)
  for (let i = 0; i < 4; i++) block.writeUInt16BE(1, i * 2)
  const l1 = Buffer.alloc(l1Size * 8)

  const file = await open(path, 'wx', 0o644)
  try {
    await file.write(cluster0, 0, cluster0.length, 0)
    await file.write(table, 0, table.length, refcountTable)
    await file.write(block, 0, block.length, refcountBlock)
    await file.write(l1, 0, l1.length, l1Table)
  } finally {
    await file.close()
  }
}
