import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { onRequestAsyncHookHandler } from 'fastify'
import { createConsumerBudget, type ConsumerBudget } from '../src/limits/consumer-budget.js'
import { rateLimitedError } from '../src/limits/rate-limited-error.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Abuse limits of the launch and login routes. `perIp`: an onRequest hook those routes list;
     * `lti11`/`lti13`: the per-consumer budgets the routes hand to the launch services (undefined
     * when RATE_LIMIT_ENABLED=false).
     */
    launchLimits: { perIp: onRequestAsyncHookHandler, lti11: ConsumerBudget | undefined, lti13: ConsumerBudget | undefined }
  }
}

/**
 * Keys the per-IP store may track at once (LRU). A hot flooder stays in it; an address evicted by a
 * wider flood merely starts a fresh window. About 100 bytes a key: a few MB at most.
 */
const TRACKED_ADDRESSES = 20_000

/**
 * Two limits, so a flood degrades into 429s without starving other consumers:
 *
 * - per client IP (@fastify/rate-limit, `onRequest`): refused before the body is read or anything
 *   is looked up, so it is cheap and stores nothing. Generous, because a whole class behind one
 *   campus NAT launches at 9:00: 600 per 10 s (RATE_LIMIT_PER_IP) is 300 LTI 1.3 launches
 *   (login + launch) or 600 LTI 1.1 launches from one address in 10 s, yet caps one address at
 *   60 requests/s, a small share of one instance (bench: ~1,300 LTI 1.1 / ~500 LTI 1.3 launches/s
 *   on 2 cores). The address is `request.ip`, so TRUST_PROXY decides whether X-Forwarded-For counts.
 * - per consumer (LTI 1.1 consumer, LTI 1.3 registration): counted only for launches that proved
 *   authentic and fresh, so knowing a consumer key, forging signatures or replaying a captured form
 *   cannot spend a victim's budget (src/limits/consumer-budget.ts). 1,000 per 10 s
 *   (RATE_LIMIT_PER_CONSUMER) is a 3,000-learner course all launching within 30 s.
 *
 * Both live in this process's memory: limits are per instance (behind N instances an address gets
 * up to N × the limit; operators divide). A shared store (Redis) would add a network call to every
 * launch and a new dependency for what is a coarse safety valve.
 */
export default fp(async (app) => {
  const c = app.config
  if (!c.RATE_LIMIT_ENABLED) {
    app.log.warn('RATE_LIMIT_ENABLED=false: launch and login routes are not rate limited')
    app.decorate('launchLimits', { perIp: async () => {}, lti11: undefined, lti13: undefined })
    return
  }
  const windowMs = c.RATE_LIMIT_WINDOW_SECONDS * 1000
  await app.register(rateLimit, {
    // Only the routes that list `perIp` are limited: health probes, JWKS and the admin API are not.
    global: false,
    max: c.RATE_LIMIT_PER_IP,
    timeWindow: windowMs,
    cache: TRACKED_ADDRESSES,
    keyGenerator: request => request.ip,
    // No X-RateLimit-* headers on every launch; the refusal's Retry-After comes from the root error
    // handler, the same way for both limits.
    addHeaders: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false, 'retry-after': false },
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    errorResponseBuilder: (_request, context) => rateLimitedError('ip', context.ttl / 1000)
  })
  // One store for all limited routes: an address's login, launch and storage re-post share one budget.
  const perIpLimiter = app.rateLimit()
  const perIp: onRequestAsyncHookHandler = async (request, reply) => { await perIpLimiter.call(app, request, reply) }
  app.decorate('launchLimits', {
    perIp,
    lti11: createConsumerBudget({ protocol: 'lti11', max: c.RATE_LIMIT_PER_CONSUMER, windowMs }),
    lti13: createConsumerBudget({ protocol: 'lti13', max: c.RATE_LIMIT_PER_CONSUMER, windowMs })
  })
}, { name: 'launch-limits', dependencies: ['config'] })
