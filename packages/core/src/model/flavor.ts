/** A flavor: the size of an instance. Instances keep an embedded copy, so editing a flavor never changes a server. */
export interface Flavor {
  /** The user-facing id (Nova `flavorid`), a string. */
  readonly id: string
  readonly name: string
  readonly memoryMb: number
  readonly vcpus: number
  readonly rootGb: number
  readonly ephemeralGb: number
  /** Swap in MB (0 for none). */
  readonly swapMb: number
  readonly rxtxFactor: number
  readonly isPublic: boolean
  readonly disabled: boolean
  readonly description: string | null
  readonly extraSpecs: Readonly<Record<string, string>>
}
