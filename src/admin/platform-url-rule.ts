/**
 * Platform URLs an admin registers (issuer, OIDC login, token, JWKS): absolute HTTPS. Plain HTTP is
 * accepted only for loopback hosts and only when OUTBOUND_ALLOW_LOOPBACK_HTTP is on (tests and the
 * demo run a platform on localhost). The outbound client still guards every call at DNS time; this
 * rule refuses at the door what could never be fetched.
 */
import { classifyAddress } from '../http/address-classes.js'
import { normalizeHost } from '../http/host-allow-list.js'

export interface PlatformUrlPolicy { allowLoopbackHttp: boolean }

export function isLoopbackHost (hostname: string): boolean {
  const host = normalizeHost(hostname)
  return host === 'localhost' || host.endsWith('.localhost') || classifyAddress(host) === 'loopback'
}

/** Null when acceptable, else a short reason (never echoing the URL). */
export function platformUrlProblem (text: string, policy: PlatformUrlPolicy): string | null {
  if (/[\s\u0000-\u001f\u007f]/.test(text)) return 'must not contain spaces or control characters'
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return 'must be an absolute URL'
  }
  if (url.protocol === 'http:') {
    if (!policy.allowLoopbackHttp) return 'must use https'
    if (!isLoopbackHost(url.hostname)) return 'must use https (http is allowed only for loopback hosts)'
  } else if (url.protocol !== 'https:') {
    return 'must use https'
  }
  if (url.hostname === '') return 'must name a host'
  if (url.username !== '' || url.password !== '') return 'must not carry credentials'
  if (text.includes('#')) return 'must not have a fragment'
  return null
}
