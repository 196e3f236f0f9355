/** What compute and the scheduler need to know of an image (Glance v2 fields plus free-form properties). */
export interface ImageMeta {
  readonly id: string
  readonly name: string
  readonly status: string
  readonly diskFormat: string
  readonly containerFormat: string
  readonly minRamMb: number
  readonly minDiskGb: number
  /** Size in bytes, or null if unknown. */
  readonly size: number | null
  /** Properties such as `hw_architecture`, `img_hv_type`, `hw_vm_mode`, `os_distro`. */
  readonly properties: Readonly<Record<string, string>>
}
