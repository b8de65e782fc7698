import { createLocalJWKSet, type JWK } from 'jose'
import { lti13Error } from './errors.js'

/**
 * Platform key sets, cached per JWKS URL (lti-checklist.md §2 #4, #5).
 *
 * - A fetched set is fresh for `ttlMs` (10 min); after that the next launch refetches it, and if
 *   that fails the stale copy keeps serving, so a JWKS outage does not stop launches signed with
 *   keys we already know.
 * - At most one fetch per URL every `minRefetchIntervalMs` (30 s), whatever triggered it (expiry,
 *   unknown `kid`, earlier failure): a stream of tokens with invented `kid`s cannot turn us into a
 *   load generator against the platform, nor stall every launch on a dead endpoint.
 * - Concurrent launches share one in-flight fetch.
 * - Bodies over `maxBytes` or sets over `maxKeys` are refused; private and symmetric members are
 *   dropped, so only public RSA/EC keys can ever verify a token.
 *
 * The fetch itself is injected (the hardened client of src/http: SSRF guard, timeout, size cap);
 * it receives `maxBytes` so it can stop reading early.
 */

export type FetchJwks = (url: string, options: { maxBytes: number }) => Promise<string>

export interface JwksCacheOptions {
  fetchJwks: FetchJwks
  ttlMs?: number | undefined
  minRefetchIntervalMs?: number | undefined
  maxKeys?: number | undefined
  maxBytes?: number | undefined
  now?: (() => number) | undefined
}

export interface PlatformKeySet {
  /** jose key resolver over this set (selects by `kid` and the header `alg`). */
  resolve: ReturnType<typeof createLocalJWKSet>
  kids: readonly string[]
  fetchedAt: number
}

export interface JwksCache {
  /** The cached set, fetching it when absent or expired (stale copy served if that fetch fails). */
  get (url: string): Promise<PlatformKeySet>
  /**
   * Refetch because a token named a key we do not have. Null when the last fetch of this URL is
   * younger than the minimum interval (the caller then refuses with LTI13_UNKNOWN_KID).
   */
  refresh (url: string): Promise<PlatformKeySet | null>
}

export const JwksCacheDefaults = {
  ttlMs: 10 * 60_000,
  minRefetchIntervalMs: 30_000,
  maxKeys: 20,
  maxBytes: 64 * 1024
} as const

const PRIVATE_OR_SYMMETRIC_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const
const PUBLIC_KEY_TYPES = new Set(['RSA', 'EC'])

interface UrlEntry {
  keySet?: PlatformKeySet
  lastAttemptAt?: number
  inflight?: Promise<PlatformKeySet>
}

function parseKeySet (body: string, maxKeys: number, maxBytes: number, fetchedAt: number): PlatformKeySet {
  if (Buffer.byteLength(body, 'utf8') > maxBytes) throw new Error(`JWKS larger than ${maxBytes} bytes`)
  const parsed: unknown = JSON.parse(body)
  const keys = (parsed as { keys?: unknown } | null)?.keys
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(keys)) throw new Error('not a JWK Set')
  if (keys.length > maxKeys) throw new Error(`JWKS has more than ${maxKeys} keys`)
  const usable = keys.filter((k): k is JWK =>
    typeof k === 'object' && k !== null &&
    PUBLIC_KEY_TYPES.has((k as JWK).kty as string) &&
    PRIVATE_OR_SYMMETRIC_MEMBERS.every(m => !(m in k)))
  return {
    resolve: createLocalJWKSet({ keys: usable }),
    kids: usable.map(k => k.kid).filter((kid): kid is string => typeof kid === 'string'),
    fetchedAt
  }
}

export function createJwksCache (options: JwksCacheOptions): JwksCache {
  const ttlMs = options.ttlMs ?? JwksCacheDefaults.ttlMs
  const minInterval = options.minRefetchIntervalMs ?? JwksCacheDefaults.minRefetchIntervalMs
  const maxKeys = options.maxKeys ?? JwksCacheDefaults.maxKeys
  const maxBytes = options.maxBytes ?? JwksCacheDefaults.maxBytes
  const now = options.now ?? Date.now
  const entries = new Map<string, UrlEntry>()

  const entryFor = (url: string): UrlEntry => {
    let entry = entries.get(url)
    if (entry === undefined) {
      entry = {}
      entries.set(url, entry)
    }
    return entry
  }

  const mayFetch = (entry: UrlEntry): boolean =>
    entry.lastAttemptAt === undefined || now() - entry.lastAttemptAt >= minInterval

  const fetchInto = (url: string, entry: UrlEntry): Promise<PlatformKeySet> => {
    if (entry.inflight !== undefined) return entry.inflight
    entry.lastAttemptAt = now()
    const attempt = (async () => {
      let body: string
      try {
        body = await options.fetchJwks(url, { maxBytes })
      } catch (err) {
        throw lti13Error('LTI13_JWKS_UNAVAILABLE', { jwksUrl: url, reason: 'fetch failed' }, { cause: err })
      }
      let keySet: PlatformKeySet
      try {
        keySet = parseKeySet(body, maxKeys, maxBytes, now())
      } catch (err) {
        throw lti13Error('LTI13_JWKS_UNAVAILABLE', { jwksUrl: url, reason: (err as Error).message }, { cause: err })
      }
      entry.keySet = keySet
      return keySet
    })()
    entry.inflight = attempt
    const clear = (): void => { entry.inflight = undefined }
    attempt.then(clear, clear)
    return attempt
  }

  return {
    async get (url) {
      const entry = entryFor(url)
      const cached = entry.keySet
      if (cached !== undefined && now() - cached.fetchedAt < ttlMs) return cached
      if (entry.inflight !== undefined) return await entry.inflight.catch(err => { if (cached) return cached; throw err })
      if (!mayFetch(entry)) {
        if (cached !== undefined) return cached
        throw lti13Error('LTI13_JWKS_UNAVAILABLE', { jwksUrl: url, reason: 'recent fetch failed' })
      }
      try {
        return await fetchInto(url, entry)
      } catch (err) {
        if (cached !== undefined) return cached
        throw err
      }
    },
    async refresh (url) {
      const entry = entryFor(url)
      if (entry.inflight !== undefined) return await entry.inflight
      if (!mayFetch(entry)) return null
      return await fetchInto(url, entry)
    }
  }
}
