/**
 * The one place HTML answers get their security headers (src/views/page-security-headers.ts): a
 * root onSend hook, so route pages, refusal pages from the root error handler and the 404 page are
 * all covered, including routes added later.
 */
import type { FastifyInstance } from 'fastify'
import { pageSecurityHeaders, type PageHeaderOptions } from '../views/page-security-headers.js'

export function registerPageHeaders (app: FastifyInstance, options: PageHeaderOptions): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    const type = reply.getHeader('content-type')
    if (typeof type !== 'string' || !/^text\/html\b/i.test(type)) return payload
    const html = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : ''
    // A page that set its own policy (the Deep Linking picker: nonces, frame-ancestors for its
    // platform) keeps it; every other header still comes from here.
    for (const [name, value] of Object.entries(pageSecurityHeaders(html, options))) {
      if (!reply.hasHeader(name)) void reply.header(name, value)
    }
    return payload
  })
}
