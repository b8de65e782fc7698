import type { Readable } from 'node:stream'
import { outboundError } from './errors.js'

/**
 * Reads a response body into memory, refusing more than `maxBytes`: first from Content-Length
 * (no byte is read), then while streaming (a lying or absent Content-Length is caught as soon as
 * the cap is crossed, and the stream is destroyed so the connection is not kept reading).
 */
export async function readCappedBody (body: Readable, contentLength: string | string[] | undefined, maxBytes: number, host: string): Promise<Buffer> {
  // Destroying an undici body emits an abort error on it; nobody else is listening any more.
  body.on('error', () => undefined)
  const declared = Number(Array.isArray(contentLength) ? contentLength[0] : contentLength)
  if (Number.isFinite(declared) && declared > maxBytes) {
    body.destroy()
    throw outboundError('HTTP_OUT_TOO_LARGE', { host, maxBytes, declaredBytes: declared })
  }
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array)
    total += buf.length
    if (total > maxBytes) {
      // Leaving the loop destroys the stream, which also releases the connection.
      throw outboundError('HTTP_OUT_TOO_LARGE', { host, maxBytes })
    }
    chunks.push(buf)
  }
  return Buffer.concat(chunks, total)
}
