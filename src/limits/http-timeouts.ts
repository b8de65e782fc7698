/**
 * Server timeouts derived from HTTP_REQUEST_TIMEOUT_MS, the bound on a slow or silent client
 * (slow-loris: headers or body trickled in, or never finished).
 *
 * Node enforces `requestTimeout`/`headersTimeout` only when it sweeps its connections, every
 * `connectionsCheckingInterval` (default 30 s): with the defaults a stalled request could hold its
 * socket for up to twice the timeout. Sweeping every tenth of the timeout (50 ms to 5 s) keeps the
 * close within 1.1 × the configured value at a negligible cost (one pass over open sockets).
 */
export interface HttpTimeouts {
  /** Socket inactivity (Fastify `connectionTimeout`). */
  connectionTimeout: number
  /** Whole request received (Fastify `requestTimeout`). */
  requestTimeout: number
  /** Options of Node's `http.createServer` (Fastify `http`). */
  http: { requestTimeout: number, headersTimeout: number, connectionsCheckingInterval: number }
}

export function httpTimeouts (requestTimeoutMs: number): HttpTimeouts {
  const sweep = Math.min(5000, Math.max(50, Math.floor(requestTimeoutMs / 10)))
  return {
    connectionTimeout: requestTimeoutMs,
    requestTimeout: requestTimeoutMs,
    // headersTimeout must not exceed requestTimeout (Node refuses it); equal: the headers get the whole budget.
    http: { requestTimeout: requestTimeoutMs, headersTimeout: requestTimeoutMs, connectionsCheckingInterval: sweep }
  }
}
