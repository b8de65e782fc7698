import type { IncomingHttpHeaders } from 'node:http'
import { Agent } from 'undici'
import type { OutboundMode } from './address-policy.js'
import { outboundError } from './errors.js'
import { createGuardedConnector } from './guarded-connector.js'
import { isHostAllowed } from './host-allow-list.js'
import { toOutboundError } from './outbound-error-mapping.js'
import { readCappedBody } from './read-capped-body.js'
import { systemResolver, type Resolver } from './resolver.js'
import { parseTargetUrl, type TargetUrl } from './target-url.js'
import { defaultUserAgent } from './user-agent.js'

export type { OutboundMode } from './address-policy.js'

export const OUTBOUND_DEFAULTS = {
  timeoutMs: 10_000,
  connectTimeoutMs: 5_000,
  maxBytes: 1024 * 1024,
  maxRedirects: 3,
} as const

export interface OutboundClientOptions {
  /** `platform` for every URL a platform or a launch gave us; `trusted-lms` for the configured LMS only. */
  readonly mode: OutboundMode
  /** OUTBOUND_ALLOW_LOOPBACK_HTTP (platform mode): loopback addresses, and plain HTTP to them. */
  readonly allowLoopbackHttp?: boolean
  /** Default total time per call (connect + headers + body, redirects included). */
  readonly timeoutMs?: number
  readonly connectTimeoutMs?: number
  /** Default response size cap in bytes. */
  readonly maxBytes?: number
  /** Same-origin redirects followed per call. */
  readonly maxRedirects?: number
  /** Defaults to `openedx-lti-provider/<package version>`. */
  readonly userAgent?: string
  /** Host name → addresses; tests inject one, production uses the system resolver. */
  readonly resolver?: Resolver
}

export interface OutboundRequest {
  readonly url: string
  readonly method?: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string | Uint8Array
  /** Exact hosts or `*.example.edu` patterns; when given, any other host is refused before connecting. */
  readonly allowedHosts?: readonly string[]
  readonly timeoutMs?: number
  readonly maxBytes?: number
  /** Cancels the call (shutdown); a cancelled call fails with HTTP_OUT_ABORTED. */
  readonly signal?: AbortSignal
  /** false: a 3xx is returned as is instead of being followed. */
  readonly followRedirects?: boolean
}

export interface OutboundResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string | string[]>>
  readonly body: Buffer
  /** The URL that produced this response (after same-origin redirects). */
  readonly url: string
}

export interface OutboundClient {
  readonly mode: OutboundMode
  request (req: OutboundRequest): Promise<OutboundResponse>
  /** Closes pooled connections; pending calls finish first. */
  close (): Promise<void>
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

/** Headers the client owns: the caller may not aim the request elsewhere or change framing. */
const CALLER_FORBIDDEN_HEADERS = new Set(['host', 'connection', 'transfer-encoding', 'content-length', 'user-agent', 'keep-alive', 'upgrade'])

function plainHeaders (raw: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) out[name] = value
  }
  return out
}

function firstHeader (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

interface Hop {
  readonly target: TargetUrl
  readonly method: string
  readonly body: string | Uint8Array | undefined
  readonly headers: Record<string, string>
}

/**
 * The one hardened outbound HTTP client (lti-checklist.md 1.1 #8, 1.3 #15). Every URL a platform,
 * a registration or a launch supplied goes through a `platform`-mode client: HTTPS only, optional
 * per-call host allow-list, DNS answers checked (private, loopback, link-local, metadata, CGNAT,
 * multicast, reserved, IPv4-mapped, disguised literals) on the very connection that uses them,
 * connect and total timeouts, a response size cap, and redirects followed only within the same
 * origin. The configured LMS uses a `trusted-lms` client: same limits, no address-class refusal.
 */
export function createOutboundClient (options: OutboundClientOptions): OutboundClient {
  const mode = options.mode
  const allowLoopbackHttp = mode === 'platform' && options.allowLoopbackHttp === true
  const defaults = {
    timeoutMs: options.timeoutMs ?? OUTBOUND_DEFAULTS.timeoutMs,
    maxBytes: options.maxBytes ?? OUTBOUND_DEFAULTS.maxBytes,
    maxRedirects: options.maxRedirects ?? OUTBOUND_DEFAULTS.maxRedirects,
  }
  const userAgent = options.userAgent ?? defaultUserAgent()
  const agent = new Agent({
    connect: createGuardedConnector({
      policy: { mode, allowLoopbackHttp },
      resolver: options.resolver ?? systemResolver,
      connectTimeoutMs: options.connectTimeoutMs ?? OUTBOUND_DEFAULTS.connectTimeoutMs,
    }),
  })

  function admit (urlText: string, allowedHosts: readonly string[] | undefined): TargetUrl {
    const target = parseTargetUrl(urlText, mode === 'platform')
    if (mode === 'platform' && target.url.protocol === 'http:' && !allowLoopbackHttp) {
      throw outboundError('HTTP_OUT_SCHEME_NOT_ALLOWED', { host: target.host, scheme: 'http' })
    }
    if (allowedHosts !== undefined && !isHostAllowed(target.host, allowedHosts)) {
      throw outboundError('HTTP_OUT_HOST_NOT_ALLOWED', { host: target.host })
    }
    return target
  }

  /** Where a 3xx may take us: same scheme, host and port only, then the usual admission checks. */
  function nextHop (hop: Hop, status: number, location: string, allowedHosts: readonly string[] | undefined): Hop {
    let next: URL
    try {
      next = new URL(location, hop.target.url)
    } catch (cause) {
      throw outboundError('HTTP_OUT_REDIRECT_REFUSED', { host: hop.target.host, reason: 'bad-location' }, { cause })
    }
    if (next.origin !== hop.target.url.origin) {
      throw outboundError('HTTP_OUT_REDIRECT_REFUSED', { host: hop.target.host, reason: 'cross-origin', toHost: next.hostname })
    }
    const target = admit(next.href, allowedHosts)
    // 303 always, and 301/302 after a POST, continue as GET without a body (what every client does).
    const becomesGet = (status === 303 && hop.method !== 'HEAD') || ((status === 301 || status === 302) && hop.method === 'POST')
    if (!becomesGet) return { ...hop, target }
    const headers = { ...hop.headers }
    delete headers['content-type']
    return { target, method: 'GET', body: undefined, headers }
  }

  async function request (req: OutboundRequest): Promise<OutboundResponse> {
    const timeoutMs = req.timeoutMs ?? defaults.timeoutMs
    const maxBytes = req.maxBytes ?? defaults.maxBytes
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(req.headers ?? {})) {
      const lower = name.toLowerCase()
      if (!CALLER_FORBIDDEN_HEADERS.has(lower)) headers[lower] = value
    }
    headers['user-agent'] = userAgent

    let hop: Hop = { target: admit(req.url, req.allowedHosts), method: (req.method ?? 'GET').toUpperCase(), body: req.body, headers }
    const deadline = AbortSignal.timeout(timeoutMs)
    const signal = req.signal === undefined ? deadline : AbortSignal.any([deadline, req.signal])

    for (let redirects = 0; ; redirects++) {
      const ctx = { host: hop.target.host, deadline, callerSignal: req.signal }
      try {
        const res = await agent.request({
          origin: hop.target.url.origin,
          path: hop.target.url.pathname + hop.target.url.search,
          method: hop.method as 'GET',
          headers: hop.headers,
          body: hop.body,
          signal,
        })
        const location = firstHeader(res.headers.location)
        if (REDIRECT_STATUSES.has(res.statusCode) && location !== undefined && req.followRedirects !== false) {
          await res.body.dump().catch(() => undefined)
          if (redirects >= defaults.maxRedirects) {
            throw outboundError('HTTP_OUT_REDIRECT_REFUSED', { host: hop.target.host, reason: 'too-many', maxRedirects: defaults.maxRedirects })
          }
          hop = nextHop(hop, res.statusCode, location, req.allowedHosts)
          continue
        }
        const body = hop.method === 'HEAD'
          ? (await res.body.dump(), Buffer.alloc(0))
          : await readCappedBody(res.body, res.headers['content-length'], maxBytes, hop.target.host)
        return { status: res.statusCode, headers: plainHeaders(res.headers), body, url: hop.target.url.href }
      } catch (err) {
        throw toOutboundError(err, ctx)
      }
    }
  }

  return {
    mode,
    request,
    close: () => agent.close(),
  }
}
