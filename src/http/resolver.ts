import { lookup } from 'node:dns/promises'
import type { AppError } from '../errors.js'
import { isAppError } from '../errors.js'
import { outboundError } from './errors.js'

export interface ResolvedAddress {
  readonly address: string
  readonly family: 4 | 6
}

/**
 * Turns a host name into every address it stands for. Injected in tests (there is no network
 * here) to simulate DNS answers, including answers that change between calls (rebinding).
 * Failures may be thrown as node DNS errors (`code` ENOTFOUND, EAI_AGAIN…); the client maps them.
 */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>

/** DNS error codes that say "ask again later" rather than "this name does not exist". */
const TEMPORARY_DNS_CODES = new Set(['EAI_AGAIN', 'ETIMEOUT', 'ECONNREFUSED', 'ESERVFAIL', 'ETIMEDOUT'])

/** The operating system's resolver (getaddrinfo: /etc/hosts, then DNS), every address, in its order. */
export const systemResolver: Resolver = async hostname => {
  const answers = await lookup(hostname, { all: true, verbatim: true })
  return answers.map(a => ({ address: a.address, family: a.family === 6 ? 6 : 4 }))
}

/** HTTP_OUT_DNS_FAILED for a resolver failure, transient when the code says the answer may come later. */
export function dnsFailure (host: string, cause: unknown): AppError {
  if (isAppError(cause)) return cause
  const code = String((cause as { code?: unknown } | null)?.code ?? 'UNKNOWN')
  return outboundError('HTTP_OUT_DNS_FAILED', { host, dnsCode: code, transient: TEMPORARY_DNS_CODES.has(code) }, { cause })
}
