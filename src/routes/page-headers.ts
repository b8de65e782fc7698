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
    void reply.headers(pageSecurityHeaders(html, options))
    return payload
  })
}
