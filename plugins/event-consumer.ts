import fp from 'fastify-plugin'
import { Gauge } from 'prom-client'
import { setTimeout as sleep } from 'node:timers/promises'
import { isConsumerHealthy, isStalled, type EventConsumer } from '../src/events/consumer/event-consumer.js'
import type { RelevantUsers } from '../src/events/consumer/relevant-users.js'
import { isRedisSourceHealthy, isRedisSourceStalled, type RedisSource } from '../src/events/redis/redis-source.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** LMS users with an LTI identity; every learner a launch maps for the first time is added (src/compose/services.ts). */
    relevantUsers: RelevantUsers
    /** null unless the event bus is Kafka (EVENT_BUS_BACKEND). */
    eventConsumer: EventConsumer | null
    /** null unless the event bus is Redis Streams (EVENT_BUS_BACKEND). */
    redisEventSource: RedisSource | null
  }
}

export interface EventConsumerPluginOptions {
  /** false: decorated but never started, and no readiness check. Default true. */
  start?: boolean
}

type Readiness = { ok: boolean, detail: string }

function kafkaReadiness (consumer: EventConsumer): Readiness {
  const status = consumer.status()
  const now = Date.now()
  if (isStalled(status, now)) return { ok: false, detail: `stalled: no fetch or heartbeat for ${Math.round((now - status.lastProgressAt) / 1000)} s` }
  return { ok: isConsumerHealthy(status, now), detail: status.lastError && !isConsumerHealthy(status, now) ? `${status.state}: ${status.lastError}` : status.state }
}

/** /ready for the Redis source: running, not stalled, and no recent trimmed gap (which needs an operator). */
function redisReadiness (source: RedisSource): Readiness {
  const status = source.status()
  const now = Date.now()
  const ok = isRedisSourceHealthy(status, now)
  if (isRedisSourceStalled(status, now)) return { ok, detail: `redis: stalled: no read for ${Math.round((now - status.lastProgressAt) / 1000)} s` }
  const gap = status.gap
  const gapText = gap ? `; stream trimmed before read: entries after ${gap.after} through ${gap.through} lost, run grades resync for that time` : ''
  const errorText = status.state !== 'running' && status.lastError ? `: ${status.lastError}` : ''
  return { ok, detail: `redis: ${status.state}${errorText}${gapText}` }
}

/**
 * The event-bus source: a kafkajs consumer in KAFKA_GROUP_ID on the Open edX topic, or, with
 * EVENT_BUS_BACKEND=redis, a consumer group on Open edX's Redis stream (src/events/redis); both
 * feed the same pipeline (src/compose/services.ts builds them). Started in onReady (a group join
 * can take longer than pluginTimeout) after the relevance set is loaded, stopped in onClose;
 * registered after `db`, so (onClose being LIFO) it leaves the group before the pool is destroyed.
 * Off when neither KAFKA_BROKERS nor REDIS_URL is set.
 */
export default fp<EventConsumerPluginOptions>(async (app, opts) => {
  const relevantUsers = app.services.relevantUsers
  app.decorate('relevantUsers', relevantUsers)
  const consumer = app.services.eventConsumer
  const redisSource = app.services.redisEventSource
  app.decorate('eventConsumer', consumer)
  app.decorate('redisEventSource', redisSource)

  if (consumer === null && redisSource === null) {
    app.log.info('neither KAFKA_BROKERS nor REDIS_URL is set: the event consumer is off, no grades come from the event bus')
    return
  }
  if (app.services.lmsClient === undefined) {
    app.log.warn('LMS_URL is not set: score events reach launches on the problem itself only, not on units or subsections')
  }
  if (!(opts.start ?? true)) return
  const log = app.log.child({ component: 'event-consumer' })
  const source: { start: () => Promise<void>, stop: () => Promise<void> } = consumer ?? redisSource as RedisSource

  let closing = false
  const closed = new AbortController()
  // Not ready until the LTI users are loaded and the group joined: before that, events of known
  // learners would be judged irrelevant, or not read at all.
  const readiness = async (): Promise<{ ok: boolean, detail: string }> => {
    if (!relevantUsers.loaded) return { ok: false, detail: 'loading LTI users' }
    return consumer !== null ? kafkaReadiness(consumer) : redisReadiness(redisSource as RedisSource)
  }
  app.readiness.add('event-consumer', readiness)
  // The same judgement as /ready, for the "consumer not ready" alert (deploy/prometheus-alerts.yml).
  new Gauge({
    name: 'lti_provider_event_consumer_ready',
    help: '1 when the event consumer is ready (LTI users loaded, group joined, fetching), else 0',
    registers: [app.metrics],
    async collect () { this.set((await readiness()).ok ? 1 : 0) }
  })

  /** The set must be complete before the first event is judged, or early events of known users would be dropped. */
  async function loadRelevantUsers (): Promise<void> {
    for (let attempt = 0; !closing; attempt++) {
      try {
        const count = await relevantUsers.load()
        log.info({ users: count }, 'event consumer: LTI users loaded')
        return
      } catch (err) {
        log.warn({ err, attempt }, 'event consumer: loading LTI users failed, retrying')
        await sleep(Math.min(30_000, 500 * 2 ** attempt), undefined, { signal: closed.signal }).catch(() => {})
      }
    }
  }

  let starting: Promise<void> | undefined
  app.addHook('onReady', async () => {
    starting = (async () => {
      await loadRelevantUsers()
      if (closing) return
      relevantUsers.start()
      await source.start()
    })().catch((err: unknown) => { log.error({ err }, 'event consumer: start failed') })
  })

  app.addHook('onClose', async () => {
    closing = true
    closed.abort()
    await source.stop()
    await starting
    await relevantUsers.stop()
  })
}, { name: 'event-consumer', dependencies: ['config', 'services', 'metrics', 'readiness'] })
