/**
 * Builds the Fastify server around the app plugin: logger with redaction, timeouts, proxy trust,
 * Ajv settings that refuse (not strip) unknown fields and never coerce JSON types.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { randomUUID } from 'node:crypto'
import type { Knex } from 'knex'
import type { Config } from './config.js'
import app from './app.js'

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
    trustProxy: config.TRUST_PROXY,
    bodyLimit: config.REQUEST_BODY_LIMIT,
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 72_000,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    genReqId: () => randomUUID(),
    routerOptions: { maxParamLength: 500 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false, useDefaults: true } },
    ...overrides
  }
}

export async function buildServer (config: Config, options: { knex?: Knex, fastify?: Partial<FastifyServerOptions> } = {}): Promise<FastifyInstance> {
  const server = Fastify(serverOptions(config, options.fastify))
  await server.register(app, { config, ...(options.knex ? { knex: options.knex } : {}) })
  return server
}
