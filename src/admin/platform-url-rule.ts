/**
 * Platform URLs an admin registers (issuer, OIDC login, token, JWKS): absolute HTTPS. Plain HTTP is
 * accepted only for loopback hosts and only when OUTBOUND_ALLOW_LOOPBACK_HTTP is on (tests and the
 * demo run a platform on localhost). The outbound client still guards every call at DNS time; this
 * rule refuses at the door what could never be fetched: an IP literal of a class the outbound
 * client refuses (the same `classifyAddress` table: loopback, private, link-local, metadata, CGNAT…)
 * and the well-known names of such places. Names are not resolved here: DNS answers can differ
 * between now and the call, and the call checks them anyway.
 */
import { classifyAddress } from '../http/address-classes.js'
import { normalizeHost } from '../http/host-allow-list.js'
import { parseIp } from '../http/ip-address.js'

/** Names that only ever lead to this host, its network or a cloud metadata service. */
const INTERNAL_NAMES = ['metadata.google.internal', 'metadata', 'instance-data', 'instance-data.ec2.internal']
const INTERNAL_SUFFIXES = ['.internal', '.local', '.localdomain', '.home.arpa']

/** Why the outbound client would never fetch this host, or null. */
export function hostProblem (hostname: string, policy: PlatformUrlPolicy): string | null {
  const host = normalizeHost(hostname)
  if (parseIp(host) !== null) {
    const cls = classifyAddress(host)
    if (cls === null || (cls === 'loopback' && policy.allowLoopbackHttp)) return null
    return `must not point at a ${cls} address (outbound calls there are refused)`
  }
  if (host === 'localhost' || host.endsWith('.localhost')) {
    return policy.allowLoopbackHttp ? null : 'must not point at this host (loopback)'
  }
  if (INTERNAL_NAMES.includes(host) || INTERNAL_SUFFIXES.some(s => host.endsWith(s)) || !host.includes('.')) {
    return 'must be a public host name (internal and single-label names are refused)'
  }
  return null
}

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
  const host = hostProblem(url.hostname, policy)
  if (host !== null) return host
  if (url.username !== '' || url.password !== '') return 'must not carry credentials'
  if (text.includes('#')) return 'must not have a fragment'
  return null
}
