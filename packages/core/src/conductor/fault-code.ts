import type { ComputeErrorCode } from '../errors/compute-error.js'

/** Nova's fault code of an error: the HTTP-like code its exception class carries (500 for NoValidHost). */
export function faultCode(code: ComputeErrorCode): number {
  switch (code) {
    case 'NOT_FOUND':
      return 404
    case 'CONFLICT':
      return 409
    case 'INVALID':
      return 400
    case 'QUOTA':
    case 'FORBIDDEN':
      return 403
    case 'UNAUTHORIZED':
      return 401
    case 'NOT_IMPLEMENTED':
      return 501
    default:
      return 500
  }
}
