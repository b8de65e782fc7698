/**
 * The composition root: every shared service of the process, built from the configuration with its
 * dependencies spelled out, once. The Fastify plugins (plugins/*), the CLI (src/cli/context.ts) and
 * the test rigs all take their services from here, so two parts of one process never hold two
 * copies of a client, a cache or a relevance set.
 *
 * Each service is built on first use: the server touches them all while it registers, a CLI
 * command only what it drives (`consumers list` opens no HTTP client and creates no Kafka consumer).
 * Building does no I/O; starting (tool keys, worker, consumer) is the caller's lifecycle.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Knex } from 'knex'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { createAdminServices, type AdminServices } from '../admin/admin-services.js'
import { createDeepLinkingPicker, type DeepLinkingPicker } from '../launch/lti13/deep-linking/picker.js'
import { createSelections, deriveSelectionKey } from '../launch/lti13/deep-linking/selection.js'
import { createCourseCatalog } from '../lms/course-catalog.js'
import { createServiceMetrics, type ServiceMetrics } from '../metrics/service-metrics.js'
import type { Config } from '../config.js'
import { createSecretBox, type SecretBox } from '../crypto/secret-box.js'
import { createOutboxClaims } from '../db/outbox/claims.js'
import { createProblemScoresRepository } from '../db/repositories/problem-scores-repository.js'
import { createConsumerMetrics } from '../events/consumer/consumer-metrics.js'
import { consumerTuningFromConfig, createEventConsumer, type EventConsumer } from '../events/consumer/event-consumer.js'
import { redisConnectionFromConfig } from '../events/redis/redis-connection.js'
import { createRedisSource, type RedisSource } from '../events/redis/redis-source.js'
import { redisTuningFromConfig } from '../events/redis/redis-tuning.js'
import { createEventPipeline, type EventPipeline } from '../events/consumer/event-pipeline.js'
import { kafkaConnectionFromConfig } from '../events/consumer/kafka-client.js'
import type { MessageProcessor } from '../events/consumer/message-processor.js'
import { createRelevantUserSource } from '../events/consumer/relevant-user-source.js'
import { RelevantUsers } from '../events/consumer/relevant-users.js'
import { createCompositeScorer, type CompositeScorer } from '../grades/composite-score.js'
import { createAccessTokenCache } from '../grades/delivery/access-token-cache.js'
import { createAgsSender } from '../grades/delivery/ags-sender.js'
import { createJobDelivery } from '../grades/delivery/job-delivery.js'
import { createLti11OutcomeSender } from '../grades/delivery/lti11-outcome-sender.js'
import { createOutboxWorker, type OutboxWorker } from '../grades/outbox-worker.js'
import { createOutboxMetrics } from '../grades/outbox-worker-metrics.js'
import { createOutboundClient, type OutboundClient } from '../http/outbound-client.js'
import { createToolKeys, type ToolKeys } from '../keys/tool-keys.js'
import { createAccountResolver, type AccountResolver } from '../launch/account-resolver.js'
import { createHandoff, type Handoff } from '../launch/handoff.js'
import { createLti11LaunchService, type Lti11LaunchService } from '../launch/lti11/launch.js'
import { createJwksFetcher } from '../launch/lti13/jwks-fetch.js'
import { createLti13LaunchService, type Lti13LaunchService } from '../launch/lti13/launch.js'
import { createLti13LoginService, type Lti13LoginService } from '../launch/lti13/login.js'
import { createLti11Migration } from '../launch/lti13/migration.js'
import type { LmsClient } from '../lms/lms-client.js'
import { createJwksCache } from '../lti/v13/jwks-cache.js'
import { deriveStateKey } from '../lti/v13/state-token.js'
import { lmsClientFromConfig } from './lms-client-from-config.js'
import type { ServiceOverrides } from './overrides.js'

export interface BuildServicesOptions {
  config: Config
  /** Owned by the caller (the db plugin, the CLI context, a test): `close()` leaves it open. */
  knex: Knex
  log: FastifyBaseLogger
  overrides?: ServiceOverrides
}

/** Listeners told about each learner a launch maps for the first time (LTI 1.1 and 1.3 alike). */
export interface LaunchEvents { onNewLearner: Array<(lmsUserId: number) => void> }

export interface LaunchServices {
  /** Shared by LTI 1.1 and 1.3 (one enrollment cache); undefined when LMS_URL is not set. */
  accounts: AccountResolver | undefined
  handoff: Handoff | undefined
  lti11: Lti11LaunchService
  events: LaunchEvents
  /** What the LTI 1.1 and 1.3 launch services call for a learner mapped for the first time: the one fan-out. */
  announceNewLearner: (lmsUserId: number) => void
}

export interface Lti13Services {
  login: Lti13LoginService
  launch: Lti13LaunchService
  /** The Deep Linking picker; undefined without an LMS (it browses the LMS course list and outlines). */
  deepLinking: DeepLinkingPicker | undefined
}

export interface Services {
  readonly config: Config
  readonly knex: Knex
  readonly log: FastifyBaseLogger
  readonly secretBox: SecretBox
  /** The tool's signing keys; `ensure()` (first boot creates them) is the caller's to await. */
  readonly toolKeys: ToolKeys
  /** Prometheus registry of this service (not the global one: tests build many in one process). */
  readonly metrics: Registry
  /** Launches by result, LMS calls, build info, dead letters. */
  readonly serviceMetrics: ServiceMetrics
  /** The Open edX LMS REST client; undefined when LMS_URL is not configured. */
  readonly lmsClient: LmsClient | undefined
  /** The one hardened client for every URL a platform or a launch gave us. */
  readonly outbound: OutboundClient
  readonly launch: LaunchServices
  readonly lti13: Lti13Services
  /** Unit and subsection scores for the outbox worker and `grades resync`; undefined without an LMS. */
  readonly compositeScorer: Pick<CompositeScorer, 'computeComposite'> | undefined
  readonly passbackWorker: OutboxWorker
  /** How long stopping the worker waits for in-flight deliveries before cancelling them. */
  readonly workerStopGraceMs: number
  /** LMS users with an LTI identity; every first-time learner of a launch is added. */
  readonly relevantUsers: RelevantUsers
  /** Decoder, recorder and processor of score events (the live consumer and `events replay`). */
  readonly eventPipeline: EventPipeline
  /** null when KAFKA_BROKERS is not set. */
  readonly eventConsumer: EventConsumer | null
  /** null unless EVENT_BUS_BACKEND is redis. */
  readonly redisEventSource: RedisSource | null
  readonly admin: AdminServices
  /** Names of the services built so far, in build order (what `close()` has to release). */
  built (): string[]
  /** Stops the consumer, the relevance refresh and the worker, then closes the HTTP clients. Idempotent. */
  close (): Promise<void>
}

export function buildServices (options: BuildServicesOptions): Services {
  const { config, knex, log } = options
  const o = options.overrides ?? {}
  const built: string[] = []
  const workerStopGraceMs = o.workerStopGraceMs ?? 10_000
  /** Builds `make()` on first use and remembers it, so every caller shares one instance. */
  function once<T> (name: string, make: () => T): () => T {
    let made = false
    let value: T
    return () => {
      if (!made) {
        value = make()
        made = true
        built.push(name)
      }
      return value
    }
  }
  const isBuilt = (name: string) => built.includes(name)

  const secretBox = once('secretBox', () => createSecretBox(config.secretKey))
  const toolKeys = once('toolKeys', () => createToolKeys({ knex, secretBox: secretBox(), graceSeconds: config.KEY_ROTATION_GRACE_SECONDS }))
  const metrics = once('metrics', () => {
    const registry = new Registry()
    // Stock names (no prefix), so stock Node.js dashboards work.
    collectDefaultMetrics({ register: registry })
    return registry
  })

  // Launches by result, LMS call latency, build info, dead letters (src/metrics/service-metrics.ts).
  const serviceMetrics = once('serviceMetrics', () => createServiceMetrics(metrics(), {
    countDeadLetters: async () => Number((await knex('dead_letters').count({ n: '*' }).first())?.n ?? 0)
  }))

  // The two outbound clients: the trusted one to our LMS, the SSRF-guarded one to platforms.
  const lmsClient = once('lmsClient', () => o.lmsClient !== undefined ? o.lmsClient(config) : lmsClientFromConfig(config, o.resolver, serviceMetrics().lmsCall))
  const outbound = once('outbound', () => o.outbound !== undefined
    ? o.outbound(config)
    : createOutboundClient({
      mode: 'platform',
      allowLoopbackHttp: config.OUTBOUND_ALLOW_LOOPBACK_HTTP,
      timeoutMs: config.OUTBOUND_TIMEOUT_MS,
      maxBytes: config.OUTBOUND_MAX_BYTES,
      ...(o.resolver === undefined ? {} : { resolver: o.resolver })
    }))

  const relevantUsers = once('relevantUsers', () => new RelevantUsers({
    ...o.relevantUsersOptions,
    source: o.relevantUserSource ?? createRelevantUserSource(knex),
    logger: log
  }))

  // The one fan-out of "a learner was mapped for the first time": the relevance set, so the
  // learner's next score event is not judged irrelevant, then whoever subscribed.
  const launchEvents: LaunchEvents = { onNewLearner: [] }
  function announceNewLearner (lmsUserId: number): void {
    relevantUsers().add(lmsUserId)
    for (const listener of launchEvents.onNewLearner) listener(lmsUserId)
  }

  const accounts = once('accounts', () => {
    const lms = lmsClient()
    return lms ? createAccountResolver({ lms, emailDomain: config.LMS_USER_EMAIL_DOMAIN }) : undefined
  })
  const handoff = once('handoff', () => {
    const lms = lmsClient()
    return lms
      ? createHandoff({
          mode: config.LMS_SESSION_HANDOFF,
          lmsUrl: lms.lmsUrl,
          publicOrigin: config.publicOrigin,
          relay: config.LMS_RELAY_CONSUMER_KEY && config.LMS_RELAY_CONSUMER_SECRET ? { consumerKey: config.LMS_RELAY_CONSUMER_KEY, consumerSecret: config.LMS_RELAY_CONSUMER_SECRET } : undefined,
          tokenLoginPath: config.LMS_TOKEN_LOGIN_PATH,
          signingKey: () => toolKeys().signingKey()
        })
      : undefined
  })
  const launch = once('launch', (): LaunchServices => ({
    accounts: accounts(),
    handoff: handoff(),
    events: launchEvents,
    announceNewLearner,
    lti11: createLti11LaunchService({
      knex,
      secretBox: secretBox(),
      publicUrl: config.PUBLIC_URL,
      allowLoopbackHttp: config.OUTBOUND_ALLOW_LOOPBACK_HTTP,
      accounts: accounts(),
      handoff: handoff(),
      log,
      onNewLearner: announceNewLearner
    })
  }))

  // One platform-JWKS cache for the process, fetched through the hardened client; the state key
  // derived from SECRET_KEY; the same account resolver and handoff as LTI 1.1.
  const lti13 = once('lti13', (): Lti13Services => {
    const stateKey = deriveStateKey(config.secretKey)
    const fetcher = createJwksFetcher(outbound(), { timeoutMs: config.OUTBOUND_TIMEOUT_MS })
    const lms = lmsClient()
    // Deep Linking: the picker browses the LMS (course list + outlines, cached for the process).
    const deepLinking = createDeepLinkingPicker({
      knex,
      selections: createSelections({ knex, key: deriveSelectionKey(config.secretKey), now: Date.now }),
      catalog: lms === undefined ? undefined : createCourseCatalog({ source: lms }),
      signingKey: async () => await toolKeys().signingKey(),
      publicUrl: config.PUBLIC_URL,
      allowLoopbackHttp: config.OUTBOUND_ALLOW_LOOPBACK_HTTP,
      log
    })
    return {
      deepLinking,
      login: createLti13LoginService({ knex, stateKey, publicUrl: config.PUBLIC_URL, stateTtlSeconds: config.LTI13_STATE_TTL, log }),
      launch: createLti13LaunchService({
        knex,
        stateKey,
        publicUrl: config.PUBLIC_URL,
        jwks: createJwksCache({ fetchJwks: fetcher.fetchJwks }),
        onRegistrationLoaded: fetcher.learn,
        migration: createLti11Migration({ knex, secretBox: secretBox() }),
        allowLoopbackHttp: config.OUTBOUND_ALLOW_LOOPBACK_HTTP,
        accounts: accounts(),
        handoff: handoff(),
        lmsUrl: lmsClient()?.lmsUrl,
        log,
        onNewLearner: announceNewLearner,
        deepLinking
      })
    }
  })

  // Without an LMS, composite (unit/subsection) jobs wait and eventually die with PASSBACK_COMPOSITE_UNAVAILABLE.
  const compositeScorer = once('compositeScorer', () => {
    if (o.compositeScorer !== undefined) return o.compositeScorer
    const lms = lmsClient()
    return lms === undefined ? undefined : createCompositeScorer({ lms, ledger: createProblemScoresRepository(knex) })
  })

  // Every platform call of the worker goes through the one platform-mode client (HTTPS, SSRF guard, timeouts, size cap).
  const passbackWorker = once('passbackWorker', () => {
    const http = outbound()
    const outbox = createOutboxClaims(knex)
    const delivery = createJobDelivery({
      outbox,
      secretBox: secretBox(),
      lti11: createLti11OutcomeSender({ http }),
      ags: createAgsSender({ http, tokenCache: createAccessTokenCache(), signingKey: () => toolKeys().signingKey() }),
      composite: compositeScorer()
    })
    return createOutboxWorker({
      outbox,
      delivery,
      maxAttempts: config.PASSBACK_MAX_ATTEMPTS,
      perHostConcurrency: config.PASSBACK_CONCURRENCY_PER_HOST,
      pollIntervalMs: config.PASSBACK_POLL_INTERVAL_MS,
      leaseMs: config.PASSBACK_LEASE_SECONDS * 1000,
      metrics: createOutboxMetrics(metrics(), outbox),
      log: log.child({ component: 'passback-worker' })
    })
  })

  const consumerLog = once('consumerLog', () => log.child({ component: 'event-consumer' }))
  const eventPipeline = once('eventPipeline', () => createEventPipeline({
    config,
    knex,
    logger: consumerLog(),
    lms: lmsClient(),
    relevantUsers: relevantUsers(),
    ...(o.now === undefined ? {} : { now: o.now })
  }))

  // Kafka and Redis are exclusive (EVENT_BUS_BACKEND), so the consumer metrics are registered once.
  const consumerMetrics = once('consumerMetrics', () => createConsumerMetrics(metrics(), relevantUsers(), config.eventBusBackend === 'redis' ? 'redis' : 'kafka'))
  const eventConsumer = once('eventConsumer', () => {
    if (config.eventBusBackend !== 'kafka') return null
    return createEventConsumer({
      connection: kafkaConnectionFromConfig(config),
      groupId: config.KAFKA_GROUP_ID,
      topic: config.eventBusTopic,
      fromBeginning: config.KAFKA_FROM_BEGINNING,
      processor: wakingWorker(eventPipeline().processor, () => { passbackWorker().kick() }),
      logger: consumerLog(),
      metrics: consumerMetrics(),
      tuning: { ...consumerTuningFromConfig(config), partitionsConsumedConcurrently: config.KAFKA_PARTITIONS_CONCURRENCY, ...o.consumerTuning },
      kafkaLogLevel: o.kafkaLogLevel
    })
  })

  const redisEventSource = once('redisEventSource', () => {
    if (config.eventBusBackend !== 'redis') return null
    return createRedisSource({
      connection: redisConnectionFromConfig(config),
      stream: config.eventBusTopic,
      group: config.redisConsumerGroup,
      consumerName: config.redisConsumerName,
      processor: wakingWorker(eventPipeline().processor, () => { passbackWorker().kick() }),
      logger: consumerLog(),
      metrics: consumerMetrics(),
      tuning: { ...redisTuningFromConfig(config), ...o.redisTuning }
    })
  })

  // A consumer changed through this process's admin API or CLI is read again by this process's next
  // launch at once (other instances: CONSUMER_CACHE_MS); no launch service is built just for that.
  const admin = once('admin', () => createAdminServices({
    knex,
    secretBox: secretBox(),
    config,
    onConsumersChanged: () => { if (isBuilt('launch')) launch().lti11.forgetConsumers() },
    ...(o.now === undefined ? {} : { now: o.now })
  }))

  let closing: Promise<void> | undefined
  async function close (): Promise<void> {
    // Consumers of work first (they queue jobs and read users), then the worker that delivers,
    // then the clients they all use. Only what was built; overridden clients included, since the
    // overrides are factories whose products the services own.
    const consumer = isBuilt('eventConsumer') ? eventConsumer() : null
    await consumer?.stop()
    const redisSource = isBuilt('redisEventSource') ? redisEventSource() : null
    await redisSource?.stop()
    if (isBuilt('relevantUsers')) await relevantUsers().stop()
    if (isBuilt('passbackWorker')) await passbackWorker().stop({ graceMs: workerStopGraceMs })
    if (isBuilt('lmsClient')) await lmsClient()?.close()
    if (isBuilt('outbound')) await outbound().close()
  }

  return {
    config,
    knex,
    log,
    get secretBox () { return secretBox() },
    get toolKeys () { return toolKeys() },
    get metrics () { return metrics() },
    get serviceMetrics () { return serviceMetrics() },
    get lmsClient () { return lmsClient() },
    get outbound () { return outbound() },
    get launch () { return launch() },
    get lti13 () { return lti13() },
    get compositeScorer () { return compositeScorer() },
    get passbackWorker () { return passbackWorker() },
    workerStopGraceMs,
    get relevantUsers () { return relevantUsers() },
    get eventPipeline () { return eventPipeline() },
    get eventConsumer () { return eventConsumer() },
    get redisEventSource () { return redisEventSource() },
    get admin () { return admin() },
    built: () => [...built],
    close: () => (closing ??= close())
  }
}

/** A queued job is due now: wake the outbox worker instead of waiting for its next poll. */
function wakingWorker (processor: MessageProcessor, kick: () => void): MessageProcessor {
  return {
    process (message) {
      const result = processor.process(message)
      // Records settled without I/O (irrelevant, other types) stay synchronous: the consumer's fast path.
      if (!(result instanceof Promise)) return result
      return result.then(settled => {
        if (settled.outcome === 'queued') kick()
        return settled
      })
    }
  }
}
