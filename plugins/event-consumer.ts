import fp from 'fastify-plugin'
import { setTimeout as sleep } from 'node:timers/promises'
import type { logLevel } from 'kafkajs'
import { createConsumerMetrics } from '../src/events/consumer/consumer-metrics.js'
import { consumerTuningFromConfig, createEventConsumer, isConsumerHealthy, isStalled, type ConsumerTuning, type EventConsumer } from '../src/events/consumer/event-consumer.js'
import { createEventPipeline, lmsClientFromConfig } from '../src/events/consumer/event-pipeline.js'
import type { MessageProcessor } from '../src/events/consumer/message-processor.js'
import { kafkaConnectionFromConfig } from '../src/events/consumer/kafka-client.js'
import { createRelevantUserSource } from '../src/events/consumer/relevant-user-source.js'
import { RelevantUsers, type RelevantUserSource, type RelevantUsersOptions } from '../src/events/consumer/relevant-users.js'
import type { BlockTreeSource } from '../src/grades/course-structure.js'
import { redisConnectionFromConfig } from '../src/events/redis/redis-connection.js'
import { createRedisSource, isRedisSourceHealthy, isRedisSourceStalled, type RedisSource, type RedisSourceTuning } from '../src/events/redis/redis-source.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** LMS users with an LTI identity; the launch code calls `add(lmsUserId)` after it stores a mapping. */
    relevantUsers: RelevantUsers
    /** null unless the event bus is Kafka (EVENT_BUS_BACKEND). */
    eventConsumer: EventConsumer | null
    /** null unless the event bus is Redis Streams (EVENT_BUS_BACKEND). */
    redisEventSource: RedisSource | null
  }
}

export interface EventConsumerPluginOptions {
  /** kafkajs timings and retry pacing (tests lower them). */
  tuning?: ConsumerTuning
  /** The LMS Blocks API; default the app's `lmsClient`, else one built from LMS_* (none when unset). */
  lms?: BlockTreeSource
  relevantUsersOptions?: Omit<RelevantUsersOptions, 'source' | 'logger'>
  /** Where the LTI users are read from; default the identity tables through app.knex (tests slow it down). */
  relevantUserSource?: RelevantUserSource
  kafkaLogLevel?: logLevel
  /** Redis source timings (tests lower them). */
  redisTuning?: RedisSourceTuning
}

/** The REDIS_* timings of the source; the service and the tests use the same. */
export function redisTuningFromConfig (config: { REDIS_BLOCK_MS: number, REDIS_BATCH_SIZE: number, REDIS_CLAIM_IDLE_MS: number }): RedisSourceTuning {
  return { blockMs: config.REDIS_BLOCK_MS, batchSize: config.REDIS_BATCH_SIZE, claimIdleMs: config.REDIS_CLAIM_IDLE_MS }
}

/** /ready for the Redis source: running, not stalled, and no recent trimmed gap (which needs an operator). */
function redisReadiness (source: RedisSource): { ok: boolean, detail: string } {
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
 * The event-bus consumer (src/events/consumer): one kafkajs consumer in KAFKA_GROUP_ID on the
 * Open edX topic. Started in onReady (a group join can take longer than pluginTimeout) after the
 * relevance set is loaded, stopped in onClose; registered after `db`, so (onClose being LIFO) it
 * leaves the group before the pool is destroyed. Off when neither KAFKA_BROKERS nor REDIS_URL is set;
 * with EVENT_BUS_BACKEND=redis the same pipeline reads Open edX's Redis stream instead (src/events/redis).
 */
export default fp<EventConsumerPluginOptions>(async (app, opts) => {
  const config = app.config
  const relevantUsers = new RelevantUsers({ ...opts.relevantUsersOptions, source: opts.relevantUserSource ?? createRelevantUserSource(app.knex), logger: app.log })
  app.decorate('relevantUsers', relevantUsers)
  // The launch plugin (registered before us) announces each learner it maps for the first time.
  if (app.hasDecorator('launchEvents')) app.launchEvents.onNewLearner.push(id => { relevantUsers.add(id) })

  if (config.eventBusBackend === 'none') {
    app.log.info('neither KAFKA_BROKERS nor REDIS_URL is set: the event consumer is off, no grades come from the event bus')
    app.decorate('eventConsumer', null)
    app.decorate('redisEventSource', null)
    return
  }

  // The app's LMS client (plugins/platform.ts) when registered, so the service token is shared.
  const shared = app.hasDecorator('lmsClient') ? app.lmsClient : undefined
  const ownedLms = opts.lms === undefined && !app.hasDecorator('lmsClient') ? lmsClientFromConfig(config) : undefined
  const lms = opts.lms ?? shared ?? ownedLms
  if (lms === undefined) {
    app.log.warn('LMS_URL is not set: score events reach launches on the problem itself only, not on units or subsections')
  }
  const log = app.log.child({ component: 'event-consumer' })
  const pipeline = createEventPipeline({ config, knex: app.knex, logger: log, lms, relevantUsers })
  // A queued leaf job is due now: wake the outbox worker instead of waiting for its next poll.
  // Records settled without I/O (irrelevant, other types) stay synchronous: the consumer's fast path.
  const processor: MessageProcessor = {
    process (message) {
      const result = pipeline.processor.process(message)
      if (!(result instanceof Promise)) return result
      return result.then(settled => {
        if (settled.outcome === 'queued' && app.hasDecorator('passbackWorker')) app.passbackWorker?.kick()
        return settled
      })
    }
  }
  const backend = config.eventBusBackend
  const metrics = createConsumerMetrics(app.metrics, relevantUsers, backend)
  const consumer = backend === 'kafka'
    ? createEventConsumer({
      connection: kafkaConnectionFromConfig(config),
      groupId: config.KAFKA_GROUP_ID,
      topic: config.eventBusTopic,
      fromBeginning: config.KAFKA_FROM_BEGINNING,
      processor,
      logger: log,
      metrics,
      tuning: { ...consumerTuningFromConfig(config), partitionsConsumedConcurrently: config.KAFKA_PARTITIONS_CONCURRENCY, ...opts.tuning },
      kafkaLogLevel: opts.kafkaLogLevel
    })
    : null
  const redisSource = backend === 'redis'
    ? createRedisSource({
      connection: redisConnectionFromConfig(config),
      stream: config.eventBusTopic,
      group: config.redisConsumerGroup,
      consumerName: config.redisConsumerName,
      processor,
      logger: log,
      metrics,
      tuning: { ...redisTuningFromConfig(config), ...opts.redisTuning }
    })
    : null
  app.decorate('eventConsumer', consumer)
  app.decorate('redisEventSource', redisSource)
  const source = consumer ?? redisSource as RedisSource

  let closing = false
  const closed = new AbortController()
  // Not ready until the LTI users are loaded and the group joined: before that, events of known
  // learners would be judged irrelevant, or not read at all.
  app.readiness.add('event-consumer', async () => {
    if (!relevantUsers.loaded) return { ok: false, detail: 'loading LTI users' }
    if (redisSource) return redisReadiness(redisSource)
    const status = (consumer as EventConsumer).status()
    const now = Date.now()
    if (isStalled(status, now)) return { ok: false, detail: `stalled: no fetch or heartbeat for ${Math.round((now - status.lastProgressAt) / 1000)} s` }
    return { ok: isConsumerHealthy(status, now), detail: status.lastError && !isConsumerHealthy(status, now) ? `${status.state}: ${status.lastError}` : status.state }
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
    await ownedLms?.close()
  })
}, { name: 'event-consumer', dependencies: ['config', 'db', 'metrics', 'readiness'] })
