import { timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * In-process Confluent Schema Registry double (kafka-testing.md §5): only `GET /schemas/ids/{id}`,
 * the one call a consumer makes. Answers like the real one: `{"schema": "<Avro JSON text>"}`
 * (plus `schemaType` for non-Avro), unknown id → 404 `{"error_code": 40403}`.
 */
export interface FakeSchemaRegistryOptions {
  schemas?: Record<number, string>
  basicAuth?: { username: string, password: string }
}

/** `up` answers; `down` answers 503 like a registry without a backing Kafka; `hang` never answers. */
export type FakeRegistryMode = 'up' | 'down' | 'hang'

export interface FakeSchemaRegistry {
  /** `http://127.0.0.1:<port>` */
  url: string
  counters: {
    /** Every request received, whatever the answer. */
    requests: number
    /** Successful lookups per schema id. */
    byId: Map<number, number>
    /** Requests refused for missing or wrong credentials. */
    unauthorized: number
  }
  /** Authorization header of the last request, to check what the client sent. */
  lastAuthorization: () => string | undefined
  addSchema: (id: number, schema: string, schemaType?: 'AVRO' | 'JSON' | 'PROTOBUF') => void
  setMode: (mode: FakeRegistryMode) => void
  close: () => Promise<void>
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'

function sameSecret (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function send (res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': CONTENT_TYPE })
  res.end(JSON.stringify(body))
}

export async function startFakeSchemaRegistry (options: FakeSchemaRegistryOptions = {}): Promise<FakeSchemaRegistry> {
  const schemas = new Map<number, { schema: string, schemaType?: string }>()
  for (const [id, schema] of Object.entries(options.schemas ?? {})) schemas.set(Number(id), { schema })
  const counters = { requests: 0, byId: new Map<number, number>(), unauthorized: 0 }
  let mode: FakeRegistryMode = 'up'
  let lastAuthorization: string | undefined
  const expected = options.basicAuth
    ? `Basic ${Buffer.from(`${options.basicAuth.username}:${options.basicAuth.password}`).toString('base64')}`
    : undefined

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    counters.requests++
    lastAuthorization = req.headers.authorization
    if (mode === 'hang') return
    if (mode === 'down') return send(res, 503, { error_code: 50301, message: 'Service unavailable' })
    if (expected && !sameSecret(req.headers.authorization ?? '', expected)) {
      counters.unauthorized++
      return send(res, 401, { error_code: 401, message: 'Unauthorized' })
    }
    const match = /^\/schemas\/ids\/(\d+)$/.exec(req.url ?? '')
    if (req.method !== 'GET' || !match) return send(res, 404, { error_code: 404, message: 'HTTP 404 Not Found' })
    const id = Number(match[1])
    const entry = schemas.get(id)
    if (!entry) return send(res, 404, { error_code: 40403, message: 'Schema not found' })
    counters.byId.set(id, (counters.byId.get(id) ?? 0) + 1)
    send(res, 200, entry.schemaType ? { schemaType: entry.schemaType, schema: entry.schema } : { schema: entry.schema })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    counters,
    lastAuthorization: () => lastAuthorization,
    addSchema: (id, schema, schemaType) => { schemas.set(id, schemaType ? { schema, schemaType } : { schema }) },
    setMode: next => { mode = next },
    close: () => new Promise<void>((resolve, reject) => {
      // Hanging requests would keep close() waiting forever.
      server.closeAllConnections()
      server.close(err => (err ? reject(err) : resolve()))
    })
  }
}
