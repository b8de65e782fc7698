/**
 * Platform JWKS fetches through the hardened outbound client (lti-checklist.md §2 #15): SSRF guard
 * after DNS, timeout, size cap, same-origin redirects only, and a per-call host allow-list built
 * from the registrations naming the URL (issuer host, admin `allowedHosts`, JWKS and token URL
 * hosts). A URL no loaded registration names is never fetched.
 */
import type { OutboundClient } from '../../http/outbound-client.js'
import type { FetchJwks } from '../../lti/v13/jwks-cache.js'
import type { Lti13RegistrationRecord } from '../../db/repositories/lti13-registrations-repository.js'
import { jwksHosts } from './registrations.js'

/** A JWKS fetch gets less time than a grade delivery: a learner is waiting on it. */
const JWKS_TIMEOUT_MS = 5000
const MAX_KNOWN_URLS = 10_000

export interface JwksFetcher {
  fetchJwks: FetchJwks
  /** Called with every registration record read, so its JWKS URL may be fetched with its hosts. */
  learn (record: Lti13RegistrationRecord): void
}

export function createJwksFetcher (outbound: OutboundClient, options: { timeoutMs?: number } = {}): JwksFetcher {
  const hostsByUrl = new Map<string, string[]>()
  const timeoutMs = Math.min(options.timeoutMs ?? JWKS_TIMEOUT_MS, JWKS_TIMEOUT_MS)
  return {
    learn (record) {
      const hosts = jwksHosts(record)
      const known = hostsByUrl.get(record.jwksUrl)
      if (known === undefined && hostsByUrl.size >= MAX_KNOWN_URLS) hostsByUrl.clear()
      // Several registrations may share one JWKS URL (one platform, several clients): union of their hosts.
      hostsByUrl.set(record.jwksUrl, [...new Set([...(known ?? []), ...hosts])])
    },
    async fetchJwks (url, { maxBytes }) {
      const allowedHosts = hostsByUrl.get(url)
      if (allowedHosts === undefined) throw new Error('JWKS URL of no loaded registration')
      const res = await outbound.request({ url, allowedHosts, maxBytes, timeoutMs, headers: { accept: 'application/jwk-set+json, application/json' } })
      if (res.status !== 200) throw new Error(`JWKS endpoint answered HTTP ${res.status}`)
      return res.body.toString('utf8')
    }
  }
}
