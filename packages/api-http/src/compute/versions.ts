import { urlJoin } from '../common/base-url.js'
import { formatMicroversion, MAX_MICROVERSION, MIN_MICROVERSION } from './microversion.js'

const DOCS = 'http://docs.openstack.org/'

interface VersionInfo {
  readonly id: 'v2.0' | 'v2.1'
  readonly status: string
  readonly version: string
  readonly min_version: string
  readonly updated: string
  readonly mediaType: string
}

const VERSIONS: readonly VersionInfo[] = [
  { id: 'v2.0', status: 'SUPPORTED', version: '', min_version: '', updated: '2011-01-21T11:33:21Z', mediaType: 'application/vnd.openstack.compute+json;version=2' },
  {
    id: 'v2.1',
    status: 'CURRENT',
    version: formatMicroversion(MAX_MICROVERSION),
    min_version: formatMicroversion(MIN_MICROVERSION),
    updated: '2013-07-23T11:33:21Z',
    mediaType: 'application/vnd.openstack.compute+json;version=2.1',
  },
]

function hrefOf(base: string, id: string, path = ''): string {
  return urlJoin(base, id === 'v2.1' ? 'v2.1' : 'v2', path)
}

/** `GET /` of the compute endpoint: both versions, sorted by id (Nova `Versions.index`). */
export function computeVersionsDocument(base: string): unknown {
  return {
    versions: VERSIONS.map((v) => ({
      id: v.id,
      status: v.status,
      version: v.version,
      min_version: v.min_version,
      updated: v.updated,
      links: [{ rel: 'self', href: hrefOf(base, v.id) }],
    })),
  }
}

/** The single-version document of `GET /v2.1[/]` (or `/v2[/]`): self link, docs link and media types. */
export function computeVersionDocument(base: string, id: 'v2.0' | 'v2.1'): unknown {
  const v = VERSIONS.find((x) => x.id === id) as VersionInfo
  return {
    version: {
      id: v.id,
      status: v.status,
      version: v.version,
      min_version: v.min_version,
      updated: v.updated,
      links: [
        { rel: 'self', href: `${urlJoin(base, id === 'v2.1' ? 'v2.1' : 'v2')}/` },
        { rel: 'describedby', type: 'text/html', href: DOCS },
      ],
      'media-types': [{ base: 'application/json', type: v.mediaType }],
    },
  }
}

/** The 300 Multiple Choices body for any other path of the root app (Nova `Versions.multi`). */
export function computeChoicesDocument(base: string, path: string): unknown {
  return {
    choices: VERSIONS.map((v) => ({
      id: v.id,
      status: v.status,
      links: [{ rel: 'self', href: hrefOf(base, v.id, path) }],
      'media-types': [{ base: 'application/json', type: v.mediaType }],
    })),
  }
}
