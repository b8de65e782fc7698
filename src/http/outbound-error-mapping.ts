import type { AppError } from '../errors.js'
import { isAppError } from '../errors.js'
import { outboundError } from './errors.js'

export interface FailureContext {
  readonly host: string
  /** The per-call deadline (AbortSignal.timeout); when it fired, any failure is a timeout. */
  readonly deadline: AbortSignal
  /** The caller's own signal, when it gave one (shutdown, client gone). */
  readonly callerSignal: AbortSignal | undefined
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ETIMEDOUT', 'EADDRNOTAVAIL',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED',
])
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

function isTlsCode (code: string): boolean {
  return code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.startsWith('CERT_') ||
    code.includes('CERT') || code.startsWith('UNABLE_TO_') || code === 'HOSTNAME_MISMATCH'
}

/**
 * Turns whatever undici, node:net, node:tls or our own guards threw into one coded AppError, so
 * callers (and their retry decisions) see stable HTTP_OUT_* codes and never raw library errors.
 * Our own coded errors pass through untouched.
 */
export function toOutboundError (err: unknown, ctx: FailureContext): AppError {
  if (isAppError(err)) return err
  if (ctx.deadline.aborted) return outboundError('HTTP_OUT_TIMEOUT', { host: ctx.host, phase: 'total' }, { cause: err })
  if (ctx.callerSignal?.aborted === true) return outboundError('HTTP_OUT_ABORTED', { host: ctx.host }, { cause: err })
  const code = String((err as { code?: unknown } | null)?.code ?? '')
  if (TIMEOUT_CODES.has(code)) {
    const phase = code === 'UND_ERR_CONNECT_TIMEOUT' ? 'connect' : code === 'UND_ERR_HEADERS_TIMEOUT' ? 'headers' : 'body'
    return outboundError('HTTP_OUT_TIMEOUT', { host: ctx.host, phase }, { cause: err })
  }
  if (CONNECT_CODES.has(code)) return outboundError('HTTP_OUT_CONNECT_FAILED', { host: ctx.host, socketCode: code }, { cause: err })
  if (isTlsCode(code)) return outboundError('HTTP_OUT_TLS_FAILED', { host: ctx.host, tlsCode: code }, { cause: err })
  return outboundError('HTTP_OUT_CONNECT_FAILED', { host: ctx.host, socketCode: code === '' ? 'unknown' : code }, { cause: err })
}
