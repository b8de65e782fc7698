/**
 * The rig for Kafka fault tests (test/faults/kafka-*.test.ts): the librdkafka mock cluster, a
 * database shared by every service instance of the test (a file for SQLite, as two processes would
 * share it), learners with LTI 1.1 launches on many problems, an Open edX-shaped outcome service
 * that records every score it accepts, and service instances built as the service builds itself
 * (buildServer: event consumer, recorder, outbox worker, readiness, /ready).
 *
 * Every score change goes to its own (learner, problem) launch, so "exactly once" is countable at
 * the platform: one accepted replaceResult per sourcedId, one processed_events row per ce_id, one
 * passbacks row per change.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { Kafka, Partitioners, logLevel, type Admin, type Producer } from 'kafkajs'
import type { Knex } from 'knex'
import type { Config } from '../../src/config.js'
import { createSecretBox } from '../../src/crypto/secret-box.js'
import { createKnex } from '../../src/db/connection.js'
import { migrateLatest } from '../../src/db/migrate.js'
import type { ConsumerTuning } from '../../src/events/consumer/event-consumer.js'
import { fullTopicName } from '../../src/events/decode/event-type.js'
import { toPythonIsoformat } from '../../src/events/decode/python-isoformat.js'
import { createWeightedScoreEncoder, newEventMetadata } from '../../src/events/decode/weighted-score-encoder.js'
import { buildServer } from '../../src/server.js'
import { testConfig } from '../helpers/build-app.js'
import { createTestDb, testBackend } from '../helpers/db.js'
import { loadEventBusFixtures } from './event-bus-fixtures.js'
import { startFakeLti11OutcomeService, type FakeOutcomeService } from './fake-lti11-outcome-service.js'
import { startMockKafka, type MockKafka } from './kafka-mock-broker.js'

interface Teardown { teardown (fn: () => unknown): void }

export const COURSE = 'course-v1:OrgX+C1+2024'
const CONSUMER_KEY = 'fault-consumer'
const CONSUMER_SECRET = 'fault-consumer-secret'
const NOW = 1_763_000_000_000

/**
 * Short kafkajs timings (kafka-testing.md §2.4), as the services' `consumerTuning` override
 * allows: a lost broker is noticed in about a second and a dead member is evicted after 6 s.
 */
export const FAST_TUNING: ConsumerTuning = {
  sessionTimeout: 6000,
  rebalanceTimeout: 6000,
  heartbeatInterval: 500,
  maxWaitTimeInMs: 100,
  autoCommitInterval: 1000,
  retry: { initialRetryTime: 100, retries: 3, maxRetryTime: 1000 },
  recordRetry: { initialMs: 200, maxMs: 1000 },
  restart: { initialMs: 200, maxMs: 1000 }
}

export function usageKeyOf (problem: number): string {
  return `block-v1:OrgX+C1+2024+type@problem+block@p${problem}`
}

/** One planned score change: learner `lmsUserId` on problem `usageKey`, into `partition`. */
export interface ScoreChange {
  ceId: string
  lmsUserId: number
  usageKey: string
  earned: number
  possible: number
  partition: number
  /** The sourcedId of the launch this change must reach (what the platform records). */
  sourcedId: string
}

export interface Placed { partition: number, offset: bigint }

/** A pino line (Fastify's logger), parsed. */
export interface LogLine { level: number, msg: string, error?: string, [key: string]: unknown }

export interface Instance {
  app: FastifyInstance
  logs: LogLine[]
  /** Failed broker responses kafkajs logged for this API (`Heartbeat`, `OffsetCommit`…), by error message. */
  responseErrors: (api: string) => Map<string, number>
  /** GET /ready: status code and the consumer check. */
  ready: () => Promise<{ statusCode: number, consumerOk: boolean | undefined, detail: string | undefined }>
  metric: (outcome: string) => Promise<number>
  close: () => Promise<void>
}

export interface RigOptions {
  brokers?: number
  partitions?: number
  learners: number
  problems: number
}

export interface Rig {
  broker: MockKafka
  topic: string
  groupId: string
  partitions: number
  knex: Knex
  dbUrl: string
  outcome: FakeOutcomeService
  /** The environment an instance runs with (also handed to child processes). */
  env: Record<string, string>
  config: Config
  /** Every change of the test, learner-major; each on its own launch. */
  changes: ScoreChange[]
  /** Where each published change landed, by ce_id. */
  placed: Map<string, Placed>
  /** Produces the changes (acks=all), keyed and partitioned by learner; retries while the cluster is unreachable. */
  publish: (changes: readonly ScoreChange[]) => Promise<void>
  startInstance: (options?: InstanceOptions) => Promise<Instance>
  /** Committed offsets of the group per partition (-1: none), through a kafkajs admin. */
  committed: () => Promise<Map<number, bigint>>
  /** Last offset + 1 per partition. */
  highWatermarks: () => Promise<Map<number, bigint>>
  count: (table: string, where?: Record<string, unknown>) => Promise<number>
}

export interface InstanceOptions {
  tuning?: ConsumerTuning
  /** Run the outbox worker in this instance; default true. */
  worker?: boolean
}

export async function waitFor (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}

/** A database file every instance of the test opens with its own pool (SQLite), or a fresh MariaDB database. */
async function sharedDatabase (t: Teardown): Promise<{ knex: Knex, url: string }> {
  if (testBackend === 'mariadb') return createTestDb(t)
  const dir = mkdtempSync(join(tmpdir(), 'lti-kafka-fault-'))
  const url = `sqlite:${join(dir, 'db.sqlite')}`
  const knex = createKnex({ url })
  await migrateLatest(knex)
  t.teardown(async () => { await knex.destroy(); rmSync(dir, { recursive: true, force: true }) })
  return { knex, url }
}

/** The LTI 1.1 launches a launch would have written: one consumer, `learners` learners, each on `problems` problems. */
async function seedLaunches (knex: Knex, config: Config, outcomeUrl: string, learners: number, problems: number): Promise<Map<string, string>> {
  const secretBox = createSecretBox(config.secretKey)
  const [consumerId] = await knex('lti11_consumers').insert({
    name: CONSUMER_KEY, consumer_key: CONSUMER_KEY, secret_enc: secretBox.seal(CONSUMER_SECRET, 'lti11_consumers.secret'),
    content_scope: '[]', outcome_hosts: '["127.0.0.1"]', signature_methods: '["HMAC-SHA1"]', active: 1, created_at: NOW, updated_at: NOW
  })
  const [serviceId] = await knex('outcome_services').insert({
    consumer_id: consumerId, url: outcomeUrl, url_sha256: createHash('sha256').update(outcomeUrl).digest('hex'), created_at: NOW
  })
  const sourcedIds = new Map<string, string>()
  for (let l = 0; l < learners; l++) {
    const lmsUserId = 1001 + l
    const [userRowId] = await knex('lti_users').insert({
      consumer_id: consumerId, lti_user_id: `lti-${lmsUserId}`, lms_user_id: lmsUserId, lms_username: `learner${lmsUserId}`, created_at: NOW, updated_at: NOW
    })
    const rows = Array.from({ length: problems }, (_, p) => {
      const sourcedId = `course-v1%3AOrgX%2BC1%2B2024:${usageKeyOf(p)}:anon-${lmsUserId}`
      sourcedIds.set(`${lmsUserId} ${usageKeyOf(p)}`, sourcedId)
      return {
        lti_user_id: userRowId, outcome_service_id: serviceId, lms_user_id: lmsUserId, course_key: COURSE, usage_key: usageKeyOf(p),
        lis_result_sourcedid: sourcedId, version_number: 0, created_at: NOW, updated_at: NOW
      }
    })
    await knex('graded_assignments').insert(rows)
  }
  return sourcedIds
}

/** A service instance as `serve` builds it (its own database pool, no admin API), with the rig's timings. */
export async function buildInstance (config: Config, options: InstanceOptions = {}, logs?: LogLine[]): Promise<FastifyInstance> {
  // Warnings and errors are kept, and every failed broker response: kafkajs logs each at debug as
  // `Response <Api>(key: …)` with its error (at error level only some, e.g. not a first JoinGroup).
  const keep = (line: LogLine) => line.level >= 40 || (line.level === 20 && line.msg.startsWith('Response ') && line.error !== undefined)
  const app = await buildServer(config, {
    // The rig migrated the shared database once; instances starting together need not race for it.
    migrate: false,
    fastify: {
      logger: logs === undefined
        ? false
        : { level: 'debug', stream: { write: (text: string) => { const line = JSON.parse(text) as LogLine; if (keep(line)) logs.push(line) } } }
    },
    features: { worker: options.worker ?? true, consumer: true, admin: false },
    overrides: { consumerTuning: options.tuning ?? FAST_TUNING, kafkaLogLevel: logs === undefined ? logLevel.NOTHING : logLevel.DEBUG, workerStopGraceMs: 2000 }
  })
  await app.ready()
  return app
}

export async function startKafkaFaultRig (t: Teardown, options: RigOptions): Promise<Rig> {
  const partitions = options.partitions ?? 3
  // Torn down last-in first-out: the instances leave the group while the cluster and database still exist.
  const cleanups: Array<() => unknown> = []
  t.teardown(async () => { for (const fn of cleanups.reverse()) await fn() })
  const stack: Teardown = { teardown: fn => { cleanups.push(fn) } }
  const prefix = `f${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
  const topic = fullTopicName(prefix)
  const groupId = `${prefix}-group`
  const broker = await startMockKafka({ brokers: options.brokers ?? 1, topics: [{ topic, partitions }] })
  stack.teardown(broker.stop)
  const outcome = await startFakeLti11OutcomeService({ consumers: { [CONSUMER_KEY]: CONSUMER_SECRET } })
  stack.teardown(() => outcome.close())
  const db = await sharedDatabase(stack)

  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    DATABASE_POOL_MAX: '4',
    KAFKA_BROKERS: broker.bootstrap.join(','),
    KAFKA_GROUP_ID: groupId,
    EVENT_BUS_TOPIC_PREFIX: prefix,
    KAFKA_PARTITIONS_CONCURRENCY: testBackend === 'mariadb' ? String(partitions) : '1',
    PASSBACK_WORKER_ENABLED: 'true',
    PASSBACK_POLL_INTERVAL_MS: '50',
    PASSBACK_LEASE_SECONDS: '30',
    // No LMS: launches sit on the problems themselves, the consumer needs no Blocks API.
    LTI_AGGREGATE_SCORE_PASSBACK_DELAY: '0'
  }
  const config = testConfig(env)
  const sourcedIds = await seedLaunches(db.knex, config, outcome.outcomeUrl(), options.learners, options.problems)

  const changes: ScoreChange[] = []
  for (let l = 0; l < options.learners; l++) {
    for (let p = 0; p < options.problems; p++) {
      const lmsUserId = 1001 + l
      changes.push({
        ceId: `${prefix}-u${lmsUserId}-p${p}`,
        lmsUserId,
        usageKey: usageKeyOf(p),
        earned: (l + p) % 5,
        possible: 4 + (p % 3),
        partition: l % partitions,
        sourcedId: sourcedIds.get(`${lmsUserId} ${usageKeyOf(p)}`)!
      })
    }
  }

  const manifest = loadEventBusFixtures()
  const encoder = createWeightedScoreEncoder({ valueSchemaId: manifest.value_schema_id, keySchemaId: manifest.key_schema_id })
  const template = manifest.messages.find(m => m.name === 'leaf-problem')!.decoded
  const kafka = new Kafka({
    clientId: 'fault-rig', brokers: broker.bootstrap, logLevel: logLevel.NOTHING, connectionTimeout: 1000, requestTimeout: 5000,
    retry: { initialRetryTime: 100, retries: 30, maxRetryTime: 1000 }
  })
  let producer: Producer | undefined
  let admin: Admin | undefined
  stack.teardown(async () => { await producer?.disconnect().catch(() => {}); await admin?.disconnect().catch(() => {}) })
  const placed = new Map<string, Placed>()

  async function publish (batch: readonly ScoreChange[]): Promise<void> {
    if (producer === undefined) {
      producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
      await producer.connect()
    }
    for (let p = 0; p < partitions; p++) {
      const mine = batch.filter(c => c.partition === p)
      if (mine.length === 0) continue
      const messages = mine.map(c => {
        const modified = toPythonIsoformat(new Date(Date.UTC(2026, 10, 20) + changes.indexOf(c) * 1000))
        const e = encoder.encode({ ...template, user_id: c.lmsUserId, course_id: COURSE, usage_id: c.usageKey, weighted_earned: c.earned, weighted_possible: c.possible, modified },
          newEventMetadata({ ce_id: c.ceId }))
        return { key: e.key, value: e.value, headers: e.headers, partition: p }
      })
      // One partition per request: the records of a send are appended in order from baseOffset.
      const [meta] = await producer.send({ topic, acks: -1, messages })
      const base = BigInt(meta!.baseOffset!)
      mine.forEach((c, i) => placed.set(c.ceId, { partition: p, offset: base + BigInt(i) }))
    }
  }

  async function connectedAdmin (): Promise<Admin> {
    if (admin === undefined) {
      admin = kafka.admin({ retry: { initialRetryTime: 100, retries: 2, maxRetryTime: 300 } })
      await admin.connect()
    }
    return admin
  }

  const instances = new Set<FastifyInstance>()
  stack.teardown(async () => { for (const app of instances) await app.close() })

  return {
    broker, topic, groupId, partitions, knex: db.knex, dbUrl: db.url, outcome, env, config, changes, placed, publish,

    async startInstance (instanceOptions = {}) {
      const logs: LogLine[] = []
      const app = await buildInstance(config, instanceOptions, logs)
      instances.add(app)
      return {
        app,
        logs,
        responseErrors (api) {
          const counts = new Map<string, number>()
          for (const line of logs) {
            if (line.level !== 20 || !line.msg.startsWith(`Response ${api}(`)) continue
            counts.set(String(line.error), (counts.get(String(line.error)) ?? 0) + 1)
          }
          return counts
        },
        async ready () {
          const res = await app.inject({ url: '/ready' })
          const check = (res.json() as { checks: Record<string, { ok: boolean, detail?: string }> }).checks['event-consumer']
          return { statusCode: res.statusCode, consumerOk: check?.ok, detail: check?.detail }
        },
        async metric (outcomeName) {
          const metric = await app.metrics.getSingleMetric('lti_provider_events_total')?.get()
          return metric?.values.find(v => v.labels.outcome === outcomeName)?.value ?? 0
        },
        async close () {
          instances.delete(app)
          await app.close()
        }
      }
    },

    async committed () {
      const [entry] = await (await connectedAdmin()).fetchOffsets({ groupId, topics: [topic] })
      return new Map((entry?.partitions ?? []).map(p => [p.partition, BigInt(p.offset)]))
    },

    async highWatermarks () {
      const offsets = await (await connectedAdmin()).fetchTopicOffsets(topic)
      return new Map(offsets.map(o => [o.partition, BigInt(o.high)]))
    },

    async count (table, where = {}) {
      return Number((await db.knex(table).where(where).count({ n: '*' }))[0]?.n)
    }
  }
}

/**
 * Samples the group's committed offsets while faults happen and checks, each time, that every
 * record below a committed offset has its processed_events row: an offset committed before its
 * work was stored would show up as a committed position past a missing row. The offsets are read
 * first and the rows after, so a correct order can never look wrong.
 */
export interface CommitWatch {
  /** Stops sampling for a while: the admin's FindCoordinator requests would use up errors injected for the consumer. */
  pause: () => Promise<void>
  resume: () => void
  stop: () => Promise<{ samples: number, violations: string[], highest: Map<number, bigint> }>
}

export function watchCommits (rig: Rig, everyMs = 150): CommitWatch {
  const stored = new Set<string>()
  const violations: string[] = []
  const highest = new Map<number, bigint>()
  let samples = 0
  let running = true

  async function sample (): Promise<void> {
    let committed: Map<number, bigint>
    try {
      committed = await rig.committed()
    } catch {
      return // the cluster is down: nothing can be committed either
    }
    samples++
    const below: string[] = []
    for (const [ceId, at] of rig.placed) {
      const offset = committed.get(at.partition) ?? -1n
      if (at.offset < offset && !stored.has(ceId)) below.push(ceId)
    }
    for (const [partition, offset] of committed) if (offset > (highest.get(partition) ?? -1n)) highest.set(partition, offset)
    if (below.length === 0) return
    const found = new Set<string>()
    for (let i = 0; i < below.length; i += 500) {
      const rows = await rig.knex('processed_events').whereIn('ce_id', below.slice(i, i + 500)).select('ce_id') as Array<{ ce_id: string }>
      for (const row of rows) found.add(row.ce_id)
    }
    for (const ceId of below) {
      if (found.has(ceId)) stored.add(ceId)
      else violations.push(`${ceId} at ${rig.placed.get(ceId)!.partition}/${rig.placed.get(ceId)!.offset} below committed ${committed.get(rig.placed.get(ceId)!.partition)} without its row`)
    }
  }

  let paused = false
  let current: Promise<void> = Promise.resolve()
  const loop = (async () => {
    while (running) {
      if (!paused) {
        current = sample()
        await current
      }
      await new Promise(resolve => setTimeout(resolve, everyMs))
    }
    await sample()
  })()

  return {
    async pause () { paused = true; await current },
    resume () { paused = false },
    async stop () {
      running = false
      await loop
      return { samples, violations, highest }
    }
  }
}

/** Polls GET /ready of an instance in the background, keeping each answer's status. */
export function watchReadiness (instance: Instance, everyMs = 100): { stop: () => Promise<Array<{ at: number, statusCode: number, consumerOk: boolean | undefined }>> } {
  const seen: Array<{ at: number, statusCode: number, consumerOk: boolean | undefined }> = []
  let running = true
  const loop = (async () => {
    while (running) {
      const r = await instance.ready()
      seen.push({ at: Date.now(), statusCode: r.statusCode, consumerOk: r.consumerOk })
      await new Promise(resolve => setTimeout(resolve, everyMs))
    }
  })()
  return { async stop () { running = false; await loop; return seen } }
}

export interface ExactlyOnceReport {
  events: number
  processed: number
  duplicates: number
  lost: number
  pushes: number
}

/** Waits for every change to be recorded and delivered, then counts what reached each table and the platform. */
export async function settleAll (rig: Rig, timeoutMs = 40_000): Promise<void> {
  const n = rig.changes.length
  await waitFor(`${n} processed events`, async () => await rig.count('processed_events') >= n, timeoutMs, 100)
  await waitFor(`${n} deliveries`, async () => await rig.count('passbacks', { status: 'delivered' }) >= n, timeoutMs, 100)
}

/** The exactly-once facts, asserted; returns the figures for the report. */
export async function assertExactlyOnce (t: Test, rig: Rig): Promise<ExactlyOnceReport> {
  const ceIds = rig.changes.map(c => c.ceId)
  const processed = await rig.knex('processed_events').select('ce_id', 'outcome') as Array<{ ce_id: string, outcome: string }>
  t.same(processed.map(r => r.ce_id).sort(), [...ceIds].sort(), 'processed_events: every ce_id once, no other')
  t.ok(processed.every(r => r.outcome === 'queued'), 'every change queued a job')

  const jobs = await rig.knex('passbacks').select('ce_id', 'version', 'status', 'score_given', 'score_maximum', 'target_key') as
    Array<{ ce_id: string, version: number, status: string, score_given: number, score_maximum: number, target_key: string }>
  t.same(jobs.map(j => j.ce_id).sort(), [...ceIds].sort(), 'passbacks: one job per change')
  t.equal(new Set(jobs.map(j => j.target_key)).size, jobs.length, 'one target per change, version 1 each')
  t.ok(jobs.every(j => Number(j.version) === 1 && j.status === 'delivered'), 'every job delivered, none dead or pending')

  const accepted = rig.outcome.ledger
  const bySourcedId = new Map<string, string[]>()
  for (const record of accepted) bySourcedId.set(record.sourcedId, [...(bySourcedId.get(record.sourcedId) ?? []), record.score])
  const duplicates = [...bySourcedId.values()].filter(scores => scores.length > 1).length
  const lost = rig.changes.filter(c => !bySourcedId.has(c.sourcedId)).length
  t.equal(duplicates, 0, 'no launch got its grade twice')
  t.equal(lost, 0, 'every change reached the platform')
  t.equal(accepted.length, rig.changes.length, 'exactly one accepted replaceResult per change')
  const wrong = rig.changes.filter(c => Math.abs(Number(bySourcedId.get(c.sourcedId)?.[0]) - c.earned / c.possible) > 1e-9)
  t.same(wrong.map(c => c.ceId), [], 'each platform grade is its change\'s earned/possible')
  return { events: rig.changes.length, processed: processed.length, duplicates, lost, pushes: accepted.length }
}

/** After every instance stopped cleanly: the group's committed offsets reach the end of each partition. */
export async function assertAllCommitted (t: Test, rig: Rig): Promise<void> {
  const [committed, high] = [await rig.committed(), await rig.highWatermarks()]
  for (const [partition, end] of high) t.equal(committed.get(partition), end, `partition ${partition}: committed up to its end (${end})`)
}
