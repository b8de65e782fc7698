/**
 * The outcome URL of an LTI 1.1 launch comes from the launch body: any key holder could make us
 * POST grades to an internal host (lti-checklist.md §1 #8). At launch time we check its shape and
 * the consumer's host policy; the outbound client re-checks the resolved addresses when it sends.
 */
import { isHostAllowed, normalizeHost } from '../../http/host-allow-list.js'
import { launchError } from '../errors.js'

export interface OutcomeHostPolicy {
  outcomeHosts: readonly string[]
  pinOutcomeHost: boolean
}

export interface CheckedOutcomeUrl {
  url: string
  host: string
  /** true: the consumer had no hosts yet and pins this one now (trust on first use). */
  pin: boolean
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1'])

export function checkOutcomeUrl (raw: string, policy: OutcomeHostPolicy, opts: { allowLoopbackHttp: boolean }): CheckedOutcomeUrl {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw launchError('LAUNCH_OUTCOME_URL_INVALID')
  }
  const host = normalizeHost(url.hostname)
  const loopbackHttp = url.protocol === 'http:' && opts.allowLoopbackHttp && (LOOPBACK_NAMES.has(host) || host.startsWith('127.'))
  if ((url.protocol !== 'https:' && !loopbackHttp) || url.username || url.password) {
    throw launchError('LAUNCH_OUTCOME_URL_INVALID')
  }
  if (policy.outcomeHosts.length > 0) {
    if (!isHostAllowed(host, policy.outcomeHosts)) throw launchError('LAUNCH_OUTCOME_HOST_NOT_ALLOWED', { host })
    return { url: url.href, host, pin: false }
  }
  if (!policy.pinOutcomeHost) throw launchError('LAUNCH_OUTCOME_HOST_NOT_ALLOWED', { host })
  return { url: url.href, host, pin: true }
}
