import { isAppError } from '../errors.js'
import { isTransientOutboundError } from '../http/errors.js'
import { normalizeHost } from '../http/host-allow-list.js'
import type { OutboundClient, OutboundResponse } from '../http/outbound-client.js'
import { lmsError } from './errors.js'
import { backoffDelayMs, parseRetryAfter, type BackoffPolicy } from './retry-timing.js'
import type { ServiceToken } from './service-token.js'

export interface LmsCall {
  readonly method: 'GET' | 'POST'
  /** Path below the LMS base URL, segments already encoded (see `pathSegment`). */
  readonly path: string
  readonly query?: Readonly<Record<string, string>>
  readonly json?: unknown
  readonly form?: Readonly<Record<string, string>>
  /** `service`: Authorization with the service token; `none`: anonymous (token and registration endpoints). */
  readonly auth: 'service' | 'none'
  /** For error details and logs: which call of the table this is. */
  readonly name: string
  /** Response cap when a call may legitimately exceed the client's default (whole course trees). */
  readonly maxBytes?: number
}

export interface LmsTransportOptions {
  readonly http: OutboundClient
  readonly baseUrl: URL
  readonly timeoutMs: number
  /** Retries after the first attempt on 5xx, 429 and transient network failures. */
  readonly retries: number
  readonly backoff: BackoffPolicy
  /** A Retry-After longer than this is not waited for: the call fails at once. */
  readonly maxRetryAfterMs: number
  readonly token: () => Promise<ServiceToken>
  readonly invalidateToken: (accessToken: string) => void
  readonly now: () => number
  readonly sleep: (ms: number) => Promise<void>
  readonly random: () => number
  /** Sees every call once it is settled (retries included): the LMS latency metric. */
  readonly observe?: ((call: string, outcome: string, seconds: number) => void) | undefined
}

/**
 * Encodes one path segment for an LMS URL. Opaque keys keep `+ : @` literal as the LMS prints
 * them (Django decodes percent-escapes in paths either way); `/ ? #` and the rest are escaped, so
 * a hostile key cannot change the route.
 */
export function pathSegment (value: string): string {
  return encodeURIComponent(value).replace(/%2B/gi, '+').replace(/%3A/gi, ':').replace(/%40/gi, '@')
}

function isRetryableStatus (status: number): boolean {
  return status === 429 || status >= 500
}

/**
 * One LMS call with the policies of openedx-rest.md §9: 10 s per attempt, bounded retries with
 * jittered exponential backoff on 5xx/429/transient failures honouring Retry-After, and one fresh
 * token after a 401. Returns the final response for any other status, for the caller to interpret.
 */
export class LmsTransport {
  private readonly options: LmsTransportOptions
  private readonly lmsHost: string

  constructor (options: LmsTransportOptions) {
    this.options = options
    this.lmsHost = normalizeHost(options.baseUrl.hostname)
  }

  async send (call: LmsCall): Promise<OutboundResponse> {
    const observe = this.options.observe
    if (observe === undefined) return await this.sendWithRetries(call)
    const started = performance.now()
    const seconds = (): number => (performance.now() - started) / 1000
    try {
      const res = await this.sendWithRetries(call)
      observe(call.name, res.status < 400 ? 'ok' : `http_${res.status}`, seconds())
      return res
    } catch (err) {
      observe(call.name, isAppError(err) ? err.code : 'error', seconds())
      throw err
    }
  }

  private async sendWithRetries (call: LmsCall): Promise<OutboundResponse> {
    const { options } = this
    let refreshedToken = false
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= options.retries
      let token: ServiceToken | undefined
      let res: OutboundResponse
      try {
        token = call.auth === 'service' ? await options.token() : undefined
        res = await this.once(call, token)
      } catch (err) {
        if (!isTransientOutboundError(err)) throw this.unavailable(call, err)
        if (last) throw this.unavailable(call, err)
        await options.sleep(backoffDelayMs(attempt, options.backoff, options.random))
        continue
      }

      if (res.status === 401 && token !== undefined) {
        options.invalidateToken(token.accessToken)
        if (!refreshedToken) {
          // An expired or revoked token: one new token, without spending a retry.
          refreshedToken = true
          attempt--
          continue
        }
        throw lmsError('LMS_AUTH_FAILED', { call: call.name, status: 401 })
      }

      if (!isRetryableStatus(res.status)) return res

      const retryAfterMs = parseRetryAfter(res.headers['retry-after'], options.now())
      const waitTooLong = retryAfterMs !== null && retryAfterMs > options.maxRetryAfterMs
      if (last || waitTooLong) {
        const details = { call: call.name, status: res.status, attempts: attempt + 1, retryAfterSeconds: retryAfterMs === null ? undefined : Math.ceil(retryAfterMs / 1000) }
        throw lmsError(res.status === 429 ? 'LMS_RATE_LIMITED' : 'LMS_UNAVAILABLE', details)
      }
      await options.sleep(Math.max(retryAfterMs ?? 0, backoffDelayMs(attempt, options.backoff, options.random)))
    }
  }

  private async once (call: LmsCall, token: ServiceToken | undefined): Promise<OutboundResponse> {
    const url = new URL(this.options.baseUrl.href.replace(/\/$/, '') + call.path)
    for (const [k, v] of Object.entries(call.query ?? {})) url.searchParams.set(k, v)
    const headers: Record<string, string> = { accept: 'application/json' }
    let body: string | undefined
    if (call.json !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(call.json)
    } else if (call.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      body = new URLSearchParams(call.form as Record<string, string>).toString()
    }
    if (token !== undefined) headers.authorization = `${token.scheme} ${token.accessToken}`
    return this.options.http.request({
      method: call.method,
      url: url.href,
      headers,
      body,
      // The LMS base URL is configuration; nothing built from launch data may point elsewhere.
      allowedHosts: [this.lmsHost],
      timeoutMs: this.options.timeoutMs,
      ...(call.maxBytes === undefined ? {} : { maxBytes: call.maxBytes }),
      followRedirects: false,
    })
  }

  private unavailable (call: LmsCall, err: unknown): Error {
    if (isAppError(err) && err.code.startsWith('LMS_')) return err
    return lmsError('LMS_UNAVAILABLE', { call: call.name, cause: isAppError(err) ? err.code : 'unknown' }, { cause: err })
  }
}
