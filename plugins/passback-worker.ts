import fp from 'fastify-plugin'
import { createOutboxClaims } from '../src/db/outbox/claims.js'
import { createProblemScoresRepository } from '../src/db/repositories/problem-scores-repository.js'
import { createCompositeScorer, type CompositeScorer } from '../src/grades/composite-score.js'
import { createAccessTokenCache } from '../src/grades/delivery/access-token-cache.js'
import { createAgsSender } from '../src/grades/delivery/ags-sender.js'
import { createJobDelivery } from '../src/grades/delivery/job-delivery.js'
import { createLti11OutcomeSender } from '../src/grades/delivery/lti11-outcome-sender.js'
import { createOutboxWorker, type OutboxWorker } from '../src/grades/outbox-worker.js'
import { createOutboxMetrics } from '../src/grades/outbox-worker-metrics.js'
import { createOutboundClient, type OutboundClient } from '../src/http/outbound-client.js'
import type { Resolver } from '../src/http/resolver.js'

declare module 'fastify' {
  interface FastifyInstance { passbackWorker: OutboxWorker }
}

export interface PassbackWorkerPluginOptions {
  /** false: built and decorated (kick() is a no-op, metrics still served) but never started. Default true. */
  enabled?: boolean
  /**
   * Scores composite (unit/subsection) jobs when due. Default: one over the app's `lmsClient`
   * (plugins/platform.ts) and the score ledger; none without an LMS, and then such jobs wait and
   * eventually die with PASSBACK_COMPOSITE_UNAVAILABLE.
   */
  compositeScorer?: Pick<CompositeScorer, 'computeComposite'> | undefined
  /**
   * The platform-mode outbound client. Default: the app's `outbound` (plugins/platform.ts) when
   * registered before this plugin, else one of its own built from OUTBOUND_* (closed on close).
   */
  http?: OutboundClient
  /** DNS for the plugin's own client (tests simulate answers). */
  resolver?: Resolver
  /** How long close waits for in-flight deliveries before cancelling them. Default 10 s. */
  stopGraceMs?: number
}

/**
 * The grade outbox worker: started once the app is ready (never inside register: the 10 s plugin
 * timeout), stopped on close before the database goes (onClose runs LIFO). Every platform call
 * goes through one platform-mode outbound client (HTTPS, SSRF guard, timeouts, size cap). Register
 * it after `platform` so it shares that plugin's clients.
 */
export default fp<PassbackWorkerPluginOptions>(async (app, opts) => {
  const config = app.config
  const shared = opts.http ?? (app.hasDecorator('outbound') ? app.outbound : undefined)
  const http = shared ?? createOutboundClient({
    mode: 'platform',
    allowLoopbackHttp: config.OUTBOUND_ALLOW_LOOPBACK_HTTP,
    timeoutMs: config.OUTBOUND_TIMEOUT_MS,
    maxBytes: config.OUTBOUND_MAX_BYTES,
    ...(opts.resolver === undefined ? {} : { resolver: opts.resolver })
  })
  const outbox = createOutboxClaims(app.knex)
  const lms = app.hasDecorator('lmsClient') ? app.lmsClient : undefined
  const composite = opts.compositeScorer ?? (lms === undefined ? undefined : createCompositeScorer({ lms: lms, ledger: createProblemScoresRepository(app.knex) }))
  const delivery = createJobDelivery({
    outbox,
    secretBox: app.secretBox,
    lti11: createLti11OutcomeSender({ http }),
    ags: createAgsSender({ http, tokenCache: createAccessTokenCache(), signingKey: () => app.toolKeys.signingKey() }),
    composite
  })
  const worker = createOutboxWorker({
    outbox,
    delivery,
    maxAttempts: config.PASSBACK_MAX_ATTEMPTS,
    perHostConcurrency: config.PASSBACK_CONCURRENCY_PER_HOST,
    pollIntervalMs: config.PASSBACK_POLL_INTERVAL_MS,
    leaseMs: config.PASSBACK_LEASE_SECONDS * 1000,
    metrics: createOutboxMetrics(app.metrics, outbox),
    log: app.log.child({ component: 'passback-worker' })
  })
  app.decorate('passbackWorker', worker)
  if (opts.enabled ?? true) {
    app.addHook('onReady', async () => { worker.start() })
  }
  app.addHook('onClose', async () => {
    await worker.stop({ graceMs: opts.stopGraceMs ?? 10_000 })
    if (shared === undefined) await http.close()
  })
}, { name: 'passback-worker', dependencies: ['config', 'db', 'secret-box', 'metrics', 'tool-keys'] })
