import type { ResolvedError } from '../common/error-status.js'
import { STATUS_TEXT } from '../common/status-text.js'

/** Keystone's (and keystonemiddleware's) error body: `{"error": {"code": 401, "title": "Unauthorized", "message": …}}`. */
export function keystoneErrorBody(error: Pick<ResolvedError, 'statusCode' | 'message'>): { error: { code: number; title: string; message: string } } {
  return { error: { code: error.statusCode, title: STATUS_TEXT[error.statusCode] ?? 'Error', message: error.message } }
}
