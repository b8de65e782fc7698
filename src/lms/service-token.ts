/** How the token is presented: `JWT <t>` (edx-drf-extensions) or `Bearer <t>` (opaque DOT tokens). */
export type TokenScheme = 'JWT' | 'Bearer'

export interface IssuedToken {
  readonly accessToken: string
  readonly scheme: TokenScheme
  readonly expiresInSeconds: number
}

export interface ServiceToken {
  readonly accessToken: string
  readonly scheme: TokenScheme
  /** Epoch ms after which the cached token is no longer handed out. */
  readonly refreshAt: number
}

/** Seconds before expiry at which a token stops being used (openedx-rest.md §1). */
export const TOKEN_REFRESH_MARGIN_SECONDS = 60

/**
 * Caches the service user's access token until `expires_in − 60 s` and makes concurrent callers
 * share one token request (single flight): a burst of launches after expiry costs one call to
 * the rate-limited token endpoint, not one per launch.
 */
export class ServiceTokenCache {
  private current: ServiceToken | undefined
  private pending: Promise<ServiceToken> | undefined

  private readonly issue: () => Promise<IssuedToken>
  private readonly now: () => number

  constructor (issue: () => Promise<IssuedToken>, now: () => number) {
    this.issue = issue
    this.now = now
  }

  async get (): Promise<ServiceToken> {
    if (this.current !== undefined && this.now() < this.current.refreshAt) return this.current
    if (this.pending === undefined) {
      this.pending = this.fetch().finally(() => { this.pending = undefined })
    }
    return this.pending
  }

  /** Forget a token the LMS refused (401), unless a newer one already replaced it. */
  invalidate (accessToken: string): void {
    if (this.current?.accessToken === accessToken) this.current = undefined
  }

  private async fetch (): Promise<ServiceToken> {
    const issued = await this.issue()
    const lifetime = Math.max(0, issued.expiresInSeconds - TOKEN_REFRESH_MARGIN_SECONDS)
    this.current = { accessToken: issued.accessToken, scheme: issued.scheme, refreshAt: this.now() + lifetime * 1000 }
    return this.current
  }
}
