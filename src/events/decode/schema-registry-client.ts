import { EventError } from '../errors.js'
import { BoundedCache } from './bounded-cache.js'
import { createUndiciFetchJson, type RegistryFetchJson, type RegistryHttpResponse } from './registry-fetch.js'

export interface SchemaRegistryOptions {
  /** Base URL, e.g. `https://registry.example.com` or with a path prefix. `user:pass@` is accepted as credentials. */
  url: string
  basicAuth?: { username: string, password: string } | undefined
  /** Defaults to undici `request`; the service passes its trusted outbound client. */
  fetchJson?: RegistryFetchJson | undefined
  /** Per request; default 5000 ms. */
  timeoutMs?: number | undefined
  /** Distinct schema ids kept; default 256. */
  maxCachedSchemas?: number | undefined
}

export interface SchemaRegistryStats {
  /** HTTP requests started. */
  fetches: number
  /** Answers served from the cache or joined onto an in-flight request. */
  cacheHits: number
}

export interface SchemaRegistryClient {
  /**
   * The writer schema (Avro JSON text) for a schema id, cached per id. Throws EVENT_UNKNOWN_SCHEMA
   * (registry answered 40403), EVENT_SCHEMA_MISMATCH (not an Avro schema), EVENT_REGISTRY_AUTH_FAILED
   * (401/403) or EVENT_REGISTRY_UNAVAILABLE (network, timeout, 5xx, unexpected answer).
   */
  getSchema: (schemaId: number) => Promise<string>
  readonly stats: Readonly<SchemaRegistryStats>
}

const DEFAULT_TIMEOUT_MS = 5000
const DEFAULT_MAX_CACHED = 256
// Confluent's "Schema not found"; a bare 404 without it is more likely a wrong base URL or a proxy.
const SCHEMA_NOT_FOUND = 40403

interface ParsedBase {
  base: URL
  /** For logs and error details: never carries credentials. */
  display: string
  authorization: string | undefined
}

function parseBase (url: string, basicAuth: SchemaRegistryOptions['basicAuth']): ParsedBase {
  const base = new URL(url)
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError('Schema Registry URL must be http(s)')
  const fromUrl = base.username !== ''
    ? { username: decodeURIComponent(base.username), password: decodeURIComponent(base.password) }
    : undefined
  base.username = ''
  base.password = ''
  base.search = ''
  base.hash = ''
  if (!base.pathname.endsWith('/')) base.pathname += '/'
  const creds = basicAuth ?? fromUrl
  const authorization = creds
    ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`, 'utf8').toString('base64')}`
    : undefined
  return { base, display: base.origin + base.pathname, authorization }
}

function withTimeout (run: (signal: AbortSignal) => Promise<RegistryHttpResponse>, timeoutMs: number): Promise<RegistryHttpResponse> {
  const controller = new AbortController()
  // Also race the timer itself: an injected client that ignores the signal must not hang the consumer.
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new Error(`Schema Registry did not answer within ${timeoutMs} ms`)
      controller.abort(err)
      reject(err)
    }, timeoutMs)
    run(controller.signal).then(resolve, reject).finally(() => clearTimeout(timer))
  })
}

function errorCodeOf (body: unknown): number | undefined {
  const code = (body as { error_code?: unknown } | undefined)?.error_code
  return typeof code === 'number' ? code : undefined
}

function schemaFromAnswer (schemaId: number, res: RegistryHttpResponse, registry: string): string {
  const details = { schemaId, registry, status: res.status, errorCode: errorCodeOf(res.body) }
  if (res.status === 200) {
    const body = res.body as { schema?: unknown, schemaType?: unknown } | undefined
    if (typeof body?.schema !== 'string') throw EventError('EVENT_REGISTRY_UNAVAILABLE', { ...details, reason: 'no schema string in answer' })
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO') {
      throw EventError('EVENT_SCHEMA_MISMATCH', { schemaId, schemaType: String(body.schemaType) })
    }
    return body.schema
  }
  if (res.status === 404 && details.errorCode === SCHEMA_NOT_FOUND) throw EventError('EVENT_UNKNOWN_SCHEMA', details)
  if (res.status === 401 || res.status === 403) throw EventError('EVENT_REGISTRY_AUTH_FAILED', details)
  throw EventError('EVENT_REGISTRY_UNAVAILABLE', details)
}

/** Client for `GET /schemas/ids/{id}` (the one registry call a consumer needs, kafka-testing.md §5). */
export function createSchemaRegistryClient (options: SchemaRegistryOptions): SchemaRegistryClient {
  const { base, display, authorization } = parseBase(options.url, options.basicAuth)
  const fetchJson = options.fetchJson ?? createUndiciFetchJson()
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const cache = new BoundedCache<number, string>(options.maxCachedSchemas ?? DEFAULT_MAX_CACHED)
  const inFlight = new Map<number, Promise<string>>()
  const stats: SchemaRegistryStats = { fetches: 0, cacheHits: 0 }
  const headers: Record<string, string> = {
    accept: 'application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json; q=0.9, application/json; q=0.5'
  }
  if (authorization) headers.authorization = authorization

  async function fetchSchema (schemaId: number): Promise<string> {
    stats.fetches++
    const url = new URL(`schemas/ids/${schemaId}`, base).toString()
    let res: RegistryHttpResponse
    try {
      res = await withTimeout(signal => fetchJson(url, { ...headers }, signal), timeoutMs)
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause)
      throw EventError('EVENT_REGISTRY_UNAVAILABLE', { schemaId, registry: display, reason }, { cause })
    }
    const schema = schemaFromAnswer(schemaId, res, display)
    cache.set(schemaId, schema)
    return schema
  }

  return {
    stats,
    async getSchema (schemaId) {
      const cached = cache.get(schemaId)
      if (cached !== undefined) {
        stats.cacheHits++
        return cached
      }
      const pending = inFlight.get(schemaId)
      if (pending) {
        stats.cacheHits++
        return pending
      }
      // One request per id at a time: a batch of 500 messages must not become 500 registry calls.
      const request = fetchSchema(schemaId).finally(() => inFlight.delete(schemaId))
      inFlight.set(schemaId, request)
      return request
    }
  }
}
