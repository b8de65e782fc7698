/**
 * Builds the Fastify server around the app plugin: logger with redaction, timeouts, proxy trust,
 * Ajv settings that refuse (not strip) unknown fields and never coerce JSON types.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { randomUUID } from 'node:crypto'
import type { Knex } from 'knex'
import type { Config } from './config.js'
import app from './app.js'
import type { AppFeatures } from './compose/features.js'
import type { ServiceOverrides } from './compose/overrides.js'
import { send } from './routes/error-handler.js'
import { httpTimeouts } from './limits/http-timeouts.js'

/** Paths whose values never reach the logs (secrets, tokens, PII). */
export const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
  '*.secret', '*.password', '*.token', '*.access_token', '*.id_token', '*.client_assertion',
  '*.oauth_signature', '*.email', '*.lis_person_contact_email_primary', '*.SECRET_KEY', '*.ADMIN_TOKEN',
  '*.LMS_CLIENT_SECRET', 'details.secret', 'body'
]

export function serverOptions (config: Config, overrides: Partial<FastifyServerOptions> = {}): FastifyServerOptions {
  return {
    logger: config.LOG_LEVEL === 'silent'
      ? false
      : {
          level: config.LOG_LEVEL,
          redact: { paths: REDACT_PATHS, censor: '[redacted]' },
          serializers: {
            // The query string may carry login hints and tokens: log the path only.
            req (req) {
              return { method: req.method, url: req.url.split('?')[0], remoteAddress: req.ip, requestId: req.id }
            }
          }
        },
    trustProxy: config.trustProxy,
    bodyLimit: config.REQUEST_BODY_LIMIT,
    // connectionTimeout, requestTimeout and Node's headersTimeout/sweep: HTTP_REQUEST_TIMEOUT_MS (src/limits/http-timeouts.ts).
    ...httpTimeouts(config.HTTP_REQUEST_TIMEOUT_MS),
    keepAliveTimeout: 72_000,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    genReqId: () => randomUUID(),
    routerOptions: { maxParamLength: 500 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false, useDefaults: true } },
    // A URL the router cannot decode (`/x%FF`, 400) or a path parameter over maxParamLength (414)
    // never reaches the root error handler: without this, Fastify answers its own JSON with an FST_
    // code and the URL echoed back.
    frameworkErrors: (error, request, reply) => {
      const status = error.statusCode !== undefined && error.statusCode < 500 ? error.statusCode : 500
      return send(request, reply, status, status < 500
        ? { code: 'BAD_REQUEST', message: status === 414 ? 'The request URL is too long.' : 'The request URL is malformed.', requestId: String(request.id) }
        : { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side.', requestId: String(request.id) })
    },
    ...overrides
  }
}

export interface BuildServerOptions {
  /** An existing, migrated knex (tests share one per file); the server then does not destroy it. */
  knex?: Knex
  /** Migrate the pool the server opens itself; default DATABASE_MIGRATE_ON_START. */
  migrate?: boolean
  fastify?: Partial<FastifyServerOptions>
  /** Which of the worker, the consumer and the admin API run (src/compose/features.ts). */
  features?: AppFeatures
  overrides?: ServiceOverrides
}

export async function buildServer (config: Config, options: BuildServerOptions = {}): Promise<FastifyInstance> {
  const server = Fastify(serverOptions(config, options.fastify))
  const { fastify: _, ...appOptions } = options
  await server.register(app, { config, ...appOptions })
  return server
}
