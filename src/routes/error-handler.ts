/**
 * The root error and not-found handlers: one place turns any error into a stable code, the right
 * status, JSON for API callers or a short HTML page for browsers, and one log line without secrets.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isAppError } from '../errors.js'
import { databaseError, isDatabaseUnavailable } from '../db/connection.js'
import { errorPage } from '../views/error-page.js'
import { pageSecurityHeaders } from '../views/page-security-headers.js'

interface ErrorBody { code: string, message: string, requestId: string, details?: Record<string, unknown> }

function wantsHtml (request: FastifyRequest): boolean {
  if (request.url.startsWith('/admin/')) return false
  const accept = request.headers.accept ?? ''
  // LTI launches arrive as browser form posts; API clients ask for JSON.
  return accept.includes('text/html') || request.headers['content-type']?.startsWith('application/x-www-form-urlencoded') === true
}

export function send (request: FastifyRequest, reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  // The launch counter (src/metrics/launch-counting.ts) labels refusals with the code sent here.
  request.answeredCode = body.code
  if (wantsHtml(request)) {
    const html = errorPage(status, body.code, body.message, body.requestId)
    // Set here too: a URL the router rejects (frameworkErrors) is answered without onSend hooks
    // (src/routes/page-headers.ts). The error page has no form, so no origin is needed.
    return reply.code(status).headers(pageSecurityHeaders(html, { selfOrigin: 'null', redirectOrigins: [] })).type('text/html; charset=utf-8').send(html)
  }
  return reply.code(status).type('application/json; charset=utf-8').send(body)
}

export function registerErrorHandlers (app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const requestId = String(request.id)
    if (isAppError(error)) {
      const level = error.status >= 500 ? 'error' : 'warn'
      request.log[level]({ code: error.code, status: error.status, details: error.details, cause: error.status >= 500 ? error.cause : undefined }, error.message)
      if (error.status === 429 && typeof error.details?.retryAfterSeconds === 'number') {
        void reply.header('retry-after', String(Math.ceil(error.details.retryAfterSeconds)))
      }
      return send(request, reply, error.status, { code: error.code, message: error.message, requestId, ...(error.details && error.status < 500 ? { details: error.details } : {}) })
    }
    if (error.validation) {
      const fields = error.validation.map(v => ({
        field: (v.instancePath || '/').replace(/^\//, '').replace(/\//g, '.') + (v.params && 'missingProperty' in v.params ? String(v.params.missingProperty) : '') + (v.params && 'additionalProperty' in v.params ? String(v.params.additionalProperty) : ''),
        message: v.message ?? 'invalid'
      }))
      request.log.info({ code: 'VALIDATION_FAILED', context: error.validationContext, fields }, 'request validation failed')
      return send(request, reply, 400, { code: 'VALIDATION_FAILED', message: `Invalid ${error.validationContext ?? 'request'}.`, requestId, details: { fields } })
    }
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500
    if (status < 500) {
      const code = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'BODY_TOO_LARGE'
        : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'UNSUPPORTED_MEDIA_TYPE' : status === 429 ? 'RATE_LIMITED' : 'BAD_REQUEST'
      request.log.info({ code, status, fastifyCode: error.code }, error.message)
      return send(request, reply, status, { code, message: status === 429 ? 'Too many requests; try again shortly.' : error.message, requestId })
    }
    if (isDatabaseUnavailable(error)) {
      // An outage, not a bug: the learner may simply try again. Only the driver's code is logged: knex puts
      // the SQL, with its values, into query error messages.
      const e = databaseError('DATABASE_UNAVAILABLE')
      request.log.error({ code: e.code, status: e.status, dbCode: (error as { code?: unknown }).code }, e.message)
      void reply.header('retry-after', '5')
      return send(request, reply, e.status, { code: e.code, message: e.message, requestId })
    }
    request.log.error({ err: error }, 'unhandled error')
    return send(request, reply, 500, { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side.', requestId })
  })

  app.setNotFoundHandler((request, reply) => {
    return send(request, reply, 404, { code: 'NOT_FOUND', message: 'No such page.', requestId: String(request.id) })
  })
}
