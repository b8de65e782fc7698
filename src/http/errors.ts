import { AppError, isAppError, registerErrors } from '../errors.js'

/**
 * Codes of the one outbound HTTP client. Every refusal or failure of a call to a URL a platform,
 * a launch or the operator gave us ends in one of these, so logs and retry logic never parse
 * undici or DNS messages. Statuses are what a route answers when such a call was on its path:
 * the remote side (or its address) is the problem, so 502, and 504 when it was too slow.
 */
export const outboundError = registerErrors({
  HTTP_OUT_URL_INVALID: [502, 'The address of a remote service is not a valid URL.'],
  HTTP_OUT_SCHEME_NOT_ALLOWED: [502, 'The address of a remote service must use HTTPS.'],
  HTTP_OUT_HOST_NOT_ALLOWED: [502, 'The remote service host is not on the allowed list.'],
  HTTP_OUT_ADDRESS_NOT_ALLOWED: [502, 'The remote service resolves to an address that may not be contacted.'],
  HTTP_OUT_DNS_FAILED: [502, 'The remote service host name could not be resolved.'],
  HTTP_OUT_CONNECT_FAILED: [502, 'The remote service could not be reached.'],
  HTTP_OUT_TLS_FAILED: [502, 'The secure connection to the remote service failed.'],
  HTTP_OUT_TIMEOUT: [504, 'The remote service did not answer in time.'],
  HTTP_OUT_TOO_LARGE: [502, 'The remote service answered with too much data.'],
  HTTP_OUT_REDIRECT_REFUSED: [502, 'The remote service redirected to an address that is not followed.'],
  HTTP_OUT_ABORTED: [503, 'The call to the remote service was cancelled.'],
})

export type OutboundErrorCode = keyof typeof outboundError.codes

/** Codes worth retrying later: the remote side may answer next time without anything changing here. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set<OutboundErrorCode>([
  'HTTP_OUT_TIMEOUT',
  'HTTP_OUT_CONNECT_FAILED',
  'HTTP_OUT_ABORTED',
])

/**
 * True when a failed outbound call may succeed if retried unchanged (timeouts, refused or reset
 * connections, temporary DNS failures). Policy refusals, oversize answers and TLS failures are
 * permanent: retrying only repeats them.
 */
export function isTransientOutboundError (err: unknown): boolean {
  if (!isAppError(err)) return false
  if (TRANSIENT_CODES.has(err.code)) return true
  return err.code === 'HTTP_OUT_DNS_FAILED' && err.details?.transient === true
}

export function isOutboundError (err: unknown): err is AppError {
  return isAppError(err) && err.code.startsWith('HTTP_OUT_')
}
