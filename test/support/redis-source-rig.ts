/**
 * The Redis source on a real redis-server and the test database: one learner (LMS user 42) launched
 * on the fixture problem, an ioredis client for the test's own writes and checks, and sources built
 * with the real pipeline and fast timings.
 */
import { Redis } from 'ioredis'
import { createEventPipeline, type EventPipeline } from '../../src/events/consumer/event-pipeline.js'
import type { MessageProcessor, ProcessResult } from '../../src/events/consumer/message-processor.js'
import { newEventMetadata } from '../../src/events/decode/weighted-score-encoder.js'
import { toPythonIsoformat } from '../../src/events/decode/python-isoformat.js'
import type { WeightedScoreChanged } from '../../src/events/decode/weighted-score-changed.js'
import { createRedisEntryEncoder, xaddArgs } from '../../src/events/redis/redis-entry-encoder.js'
import { createRedisSource, type RedisSource, type RedisSourceTuning } from '../../src/events/redis/redis-source.js'
import type { ConsumerMetrics } from '../../src/events/consumer/consumer-metrics.js'
import type { ConsumerLogger } from '../../src/events/consumer/kafka-client.js'
import { testConfig } from '../helpers/build-app.js'
import type { TestDb } from '../helpers/db.js'
import { createSeeder } from './grade-targets-seed.js'
import { loadRedisFixtures } from './redis-event-fixtures.js'
import type { RedisServer } from './redis-server.js'

export const silent: ConsumerLogger = { debug () {}, info () {}, warn () {}, error () {} }
export const FAST: RedisSourceTuning = { blockMs: 100, batchSize: 10, claimIdleMs: 1000, recordRetry: { initialMs: 50, maxMs: 200 }, reconnect: { initialMs: 50, maxMs: 300 } }
export const LEARNER = 42

export interface Rig {
  stream: string
  group: string
  client: Redis
  pipeline: EventPipeline
  /** XADDs `n` score changes of the learner (ce ids `<prefix>-<i>`), returns the ce ids; `maxLen` trims exactly. */
  write: (prefix: string, n: number, options?: { maxLen?: number, user?: number }) => Promise<string[]>
  source: (name: string, options?: { processor?: MessageProcessor, tuning?: RedisSourceTuning, logger?: ConsumerLogger, metrics?: ConsumerMetrics, onAcked?: (id: string, result: ProcessResult) => void }) => RedisSource
  pendingCount: () => Promise<number>
  jobs: () => Promise<Array<{ ce_id: string }>>
  processed: () => Promise<string[]>
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

export async function waitFor (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

export async function createRig (t: { teardown: (fn: () => unknown) => void }, redis: RedisServer, db: TestDb): Promise<Rig> {
  const fixtures = loadRedisFixtures()
  const base = fixtures.entries[0]!.record.problem_score as unknown as WeightedScoreChanged
  const stream = `s${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}-learning-problem-score-lifecycle`
  const group = 'lti-provider'
  const seed = createSeeder(db.knex)
  const user = await seed.lti11User({ lmsUserId: LEARNER, lmsUsername: 'learner42' })
  await seed.assignment(user, { lmsUserId: LEARNER, courseKey: base.course_id, usageKey: base.usage_id })
  const config = testConfig({ DATABASE_URL: db.url, REDIS_URL: redis.url })
  const pipeline = createEventPipeline({ config, knex: db.knex, logger: silent })
  await pipeline.relevantUsers.load()
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  client.on('error', () => {})
  await client.connect()
  t.teardown(() => client.disconnect())
  const encode = createRedisEntryEncoder()
  let second = 0
  const count = async (table: string) => await db.knex(table).select('ce_id').orderBy('ce_id')
  return {
    stream,
    group,
    client,
    pipeline,
    async write (prefix, n, options = {}) {
      const ids: string[] = []
      for (let i = 0; i < n; i++) {
        const ceId = `${prefix}-${String(i).padStart(4, '0')}`
        ids.push(ceId)
        const event = { ...base, user_id: options.user ?? LEARNER, weighted_earned: i % 4, modified: toPythonIsoformat(new Date(Date.UTC(2026, 10, 20, 10, 0, 0, second++))) }
        await client.call('XADD', ...xaddArgs(stream, encode(event, newEventMetadata({ ce_id: ceId })), options.maxLen, options.maxLen !== undefined))
      }
      return ids
    },
    source (name, options = {}) {
      const source = createRedisSource({
        connection: { url: redis.url },
        stream,
        group,
        consumerName: name,
        processor: options.processor ?? pipeline.processor,
        logger: options.logger ?? silent,
        metrics: options.metrics,
        tuning: options.tuning ?? FAST,
        onAcked: options.onAcked ? (_s, id, r) => options.onAcked?.(id, r) : undefined
      })
      t.teardown(() => source.stop())
      return source
    },
    async pendingCount () {
      const reply = await client.call('XPENDING', stream, group) as [number | string]
      return Number(reply[0])
    },
    jobs: async () => await count('passbacks') as Array<{ ce_id: string }>,
    processed: async () => (await count('processed_events') as Array<{ ce_id: string }>).map(r => r.ce_id)
  }
}
