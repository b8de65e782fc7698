import type { AccessToken } from '../../lti/v13/access-token-request.js'

/**
 * AGS access tokens, cached per (registration, scope set) until `expires_in` − 60 s
 * (lti-checklist.md §2 #14), one token request at a time per key: a burst of score jobs for one
 * platform costs one client-credentials grant, not one per job. Tokens live in memory only.
 */
export interface AccessTokenCache {
  /** A valid token for `key`, from the cache or from `fetchToken` (shared by concurrent callers). */
  get (key: string, fetchToken: () => Promise<AccessToken>): Promise<string>
  /** Drops `token` if it is still the cached one (a 401 proved it dead); a newer token stays. */
  invalidate (key: string, token: string): void
  readonly size: number
}

export interface AccessTokenCacheOptions {
  now?: () => number
  /** Tokens are not used within this margin of their expiry. Default 60 s. */
  refreshMarginMs?: number
  /** Registrations × scope sets kept; oldest dropped first. Default 1000. */
  maxEntries?: number
}

/** The cache key: registration id and the sorted, de-duplicated scope set. */
export function tokenCacheKey (registrationId: number | string, scopes: readonly string[]): string {
  return `${registrationId}\n${[...new Set(scopes)].sort().join(' ')}`
}

export function createAccessTokenCache (options: AccessTokenCacheOptions = {}): AccessTokenCache {
  const now = options.now ?? Date.now
  const margin = options.refreshMarginMs ?? 60_000
  const maxEntries = options.maxEntries ?? 1000
  const tokens = new Map<string, { accessToken: string, usableUntil: number }>()
  const inFlight = new Map<string, Promise<string>>()

  async function fetchInto (key: string, fetchToken: () => Promise<AccessToken>): Promise<string> {
    const token = await fetchToken()
    const usableUntil = token.expiresAt - margin
    // A token that expires within the margin serves this call but is not worth keeping.
    if (usableUntil > now()) {
      tokens.delete(key)
      tokens.set(key, { accessToken: token.accessToken, usableUntil })
      while (tokens.size > maxEntries) tokens.delete(tokens.keys().next().value as string)
    }
    return token.accessToken
  }

  return {
    get (key, fetchToken) {
      const cached = tokens.get(key)
      if (cached !== undefined && cached.usableUntil > now()) return Promise.resolve(cached.accessToken)
      if (cached !== undefined) tokens.delete(key)
      const pending = inFlight.get(key)
      if (pending !== undefined) return pending
      const request = fetchInto(key, fetchToken).finally(() => inFlight.delete(key))
      inFlight.set(key, request)
      return request
    },
    invalidate (key, token) {
      if (tokens.get(key)?.accessToken === token) tokens.delete(key)
    },
    get size () { return tokens.size }
  }
}
