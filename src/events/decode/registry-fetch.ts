import { request } from 'undici'

/** What the registry client needs from an HTTP client: one GET, JSON parsed when it is JSON. */
export interface RegistryHttpResponse {
  status: number
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  body: unknown
}

/**
 * Injected so the service can pass its hardened outbound client; tests pass fakes. Must honour
 * `signal` (the registry client aborts it on timeout) and must not follow redirects with credentials.
 */
export type RegistryFetchJson = (url: string, headers: Record<string, string>, signal: AbortSignal) => Promise<RegistryHttpResponse>

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024

/**
 * Default transport: undici `request` (no redirects followed), body capped because a schema is a few
 * kilobytes and anything huge means we are not talking to a registry.
 */
export function createUndiciFetchJson (options: { maxBodyBytes?: number } = {}): RegistryFetchJson {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  return async (url, headers, signal) => {
    const res = await request(url, { method: 'GET', headers, signal })
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of res.body) {
      const buf = chunk as Buffer
      size += buf.length
      if (size > maxBodyBytes) {
        res.body.destroy()
        throw new Error(`Schema Registry answer larger than ${maxBodyBytes} bytes`)
      }
      chunks.push(buf)
    }
    return { status: res.statusCode, body: parseJson(Buffer.concat(chunks).toString('utf8')) }
  }
}

function parseJson (text: string): unknown {
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** The slice of the service's outbound client (src/http) the registry needs, typed here to stay decoupled. */
export interface RequestingClient {
  request: (req: { url: string, headers?: Readonly<Record<string, string>>, signal?: AbortSignal, followRedirects?: boolean }) => Promise<{ status: number, body: Buffer }>
}

/** Adapts the hardened outbound client: no redirects (they would carry the credentials elsewhere). */
export function registryFetchFromClient (client: RequestingClient): RegistryFetchJson {
  return async (url, headers, signal) => {
    const res = await client.request({ url, headers, signal, followRedirects: false })
    return { status: res.status, body: parseJson(res.body.toString('utf8')) }
  }
}
