import { execFile } from 'node:child_process'
import { ComputeError } from '@novum/core'

/** What `qemu-img info` says about an image file. */
export interface QemuImageInfo {
  readonly format: string
  readonly virtualSizeBytes: number
  readonly actualSizeBytes: number
  readonly backingFile: string | null
}

/** Runs `qemu-img` (from qemu-utils) for the driver's disk work: overlays, inspection, conversion, resizing. */
export class QemuImg {
  constructor(private readonly binary = 'qemu-img') {}

  private run(args: readonly string[], signal?: AbortSignal): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.binary, [...args], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, ...(signal ? { signal } : {}) }, (error, stdout, stderr) => {
        if (error) {
          const code = (error as NodeJS.ErrnoException).code
          const why = code === 'ENOENT' ? `${this.binary} not found (install qemu-utils)` : (stderr.trim() || error.message)
          reject(new ComputeError('VIRT', `qemu-img ${args[0]} failed: ${why}`, { cause: error, details: { args: [...args] } }))
        } else resolve(stdout)
      })
    })
  }

  /** Inspects a file. `format` is what qemu-img detects, never what someone claimed. */
  async info(path: string): Promise<QemuImageInfo> {
    const json = JSON.parse(await this.run(['info', '--output=json', '-U', path])) as Record<string, unknown>
    return {
      format: String(json['format']),
      virtualSizeBytes: Number(json['virtual-size']),
      actualSizeBytes: Number(json['actual-size'] ?? 0),
      backingFile: typeof json['backing-filename'] === 'string' ? json['backing-filename'] : null,
    }
  }

  /** Creates a qcow2 overlay on `backing` (of format `backingFormat`), optionally larger than the backing image. */
  async createOverlay(path: string, backing: string, backingFormat: string, sizeBytes?: number): Promise<void> {
    await this.run(['create', '-q', '-f', 'qcow2', '-F', backingFormat, '-b', backing, path, ...(sizeBytes ? [String(sizeBytes)] : [])])
  }

  /** Creates an empty image. */
  async create(path: string, format: string, sizeBytes: number): Promise<void> {
    await this.run(['create', '-q', '-f', format, path, String(sizeBytes)])
  }

  /** Copies an image (flattening its backing chain) into a new file of `format`. */
  async convert(source: string, destination: string, format: string, options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    await this.run(['convert', '-q', '-O', format, source, destination], options.signal)
  }

  /** Grows an image to `sizeBytes`. */
  async resize(path: string, sizeBytes: number): Promise<void> {
    await this.run(['resize', '-q', path, String(sizeBytes)])
  }
}
