import { ComputeError, type SerializedComputeError } from './compute-error.js'

/** One host's rejection: which filter (or Placement) removed it, and why. */
export interface HostRejection {
  readonly host: string
  readonly nodename?: string
  /** The filter name, or `Placement` when Placement returned no candidate for the host. */
  readonly by: string
  readonly reason: string
}

/** Counts and reasons carried by a {@link NoValidHostError}. */
export interface NoValidHostDetails {
  /** Hosts considered in total (compute nodes known to the scheduler). */
  readonly hostCount: number
  /** Rejections, one per host, in the order they happened. */
  readonly rejections: readonly HostRejection[]
  /** A short sentence summarising the counts per filter. */
  readonly summary: string
  /** The scheduler's full record of the decision (its `SchedulingExplanation`), when it has one. */
  readonly explanation?: unknown
}

/**
 * No host could take the request. Unlike Nova's bare "No valid host was found", the message names the counts,
 * e.g. `No valid host was found. 0 of 12 hosts: 7 rejected by ComputeFilter (disabled), 5 had too little MEMORY_MB in Placement`.
 */
export class NoValidHostError extends ComputeError {
  override readonly name = 'NoValidHostError'
  readonly explanation: NoValidHostDetails

  constructor(explanation: NoValidHostDetails, options?: ErrorOptions) {
    super('NO_VALID_HOST', `No valid host was found. ${explanation.summary}`, {
      ...options,
      details: explanation as unknown as Record<string, unknown>,
    })
    this.explanation = explanation
  }

  /** Builds the summary sentence from rejections: `0 of N hosts: K rejected by F (reason), …`. */
  static summarise(hostCount: number, rejections: readonly HostRejection[], extra?: string): string {
    const groups = new Map<string, { count: number; reasons: Set<string> }>()
    for (const r of rejections) {
      const g = groups.get(r.by) ?? { count: 0, reasons: new Set<string>() }
      g.count++
      if (g.reasons.size < 3) g.reasons.add(r.reason)
      groups.set(r.by, g)
    }
    const parts = [...groups].map(([by, g]) => {
      const why = [...g.reasons].join('; ')
      return by === 'Placement' ? `${g.count} had no allocation candidate in Placement (${why})` : `${g.count} rejected by ${by} (${why})`
    })
    const head = `0 of ${hostCount} hosts`
    const body = parts.length ? `${head}: ${parts.join(', ')}` : head
    return extra ? `${body}. ${extra}` : body
  }
}

ComputeError.registerReviver('NoValidHostError', (json: SerializedComputeError) => {
  const d = (json.details ?? {}) as unknown as NoValidHostDetails
  return new NoValidHostError({
    hostCount: d.hostCount ?? 0,
    rejections: d.rejections ?? [],
    summary: d.summary ?? json.message,
    ...(d.explanation !== undefined ? { explanation: d.explanation } : {}),
  })
})
