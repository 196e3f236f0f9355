import { STATUS_CODES } from 'node:http'

/** HTTP reason phrases by status (`404` → `Not Found`), for the error bodies that print them. */
export const STATUS_TEXT: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(STATUS_CODES).map(([code, text]) => [Number(code), text ?? '']),
)
