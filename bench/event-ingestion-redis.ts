/**
 * Event ingestion from Open edX's Redis Streams bus (a real redis-server): irrelevant events/s
 * (learners who never came through LTI: user id read, dropped, acked, no query) and relevant events/s
 * (a dedupe row, the score ledger and a passback job per event, acked after commit), each beside a
 * bare ioredis reader doing XREADGROUP + XACK of the same entries (it only counts them).
 *
 *   node --import tsx bench/event-ingestion-redis.ts [--irrelevant 100000] [--relevant 3000] [--learners 200] [--out file]
 *
 * Entries are written first as edx-event-bus-redis writes them (XADD, bare Avro event_data), then
 * each reader reads the stream from its start in its own group; the clock runs from its first entry
 * to its last. SQLite in a file, as one node runs it.
 */
import { Redis } from 'ioredis'
import { loadConfig } from '../src/config.js'
import { createKnex } from '../src/db/connection.js'
import { migrateLatest } from '../src/db/migrate.js'
import { createEventPipeline } from '../src/events/consumer/event-pipeline.js'
import { toPythonIsoformat } from '../src/events/decode/python-isoformat.js'
import { newEventMetadata } from '../src/events/decode/weighted-score-encoder.js'
import { createRedisEntryEncoder } from '../src/events/redis/redis-entry-encoder.js'
import { createRedisSource } from '../src/events/redis/redis-source.js'
import { createSeeder } from '../test/support/grade-targets-seed.js'
import { startRedisServer } from '../test/support/redis-server.js'
import { numberArg, parseArgs } from './support/args.js'
import { openBenchDb } from './support/bench-db.js'
import { emitResult, ratio, round, startPart, type Figure } from './support/result.js'

const args = parseArgs()
const irrelevantCount = numberArg(args, 'irrelevant', 100_000)
const relevantCount = numberArg(args, 'relevant', 3000)
const learners = numberArg(args, 'learners', 200)

const COURSE = 'course-v1:edX+DemoX+Demo_Course'
const PROBLEM = 'block-v1:edX+DemoX+Demo_Course+type@problem+block@p1'
const BATCH = 500
const silent = { debug () {}, info () {}, warn () {}, error () {} }

function deadline<T> (what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([promise, new Promise<T>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms) })])
    .finally(() => clearTimeout(timer))
}

async function produce (client: Redis, stream: string, count: number, userIdOf: (i: number) => number): Promise<number> {
  const encode = createRedisEntryEncoder()
  const started = performance.now()
  for (let start = 0; start < count; start += 1000) {
    const pipe = client.pipeline()
    for (let i = start; i < Math.min(count, start + 1000); i++) {
      pipe.call('XADD', stream, '*', ...encode({
        user_id: userIdOf(i), course_id: COURSE, usage_id: PROBLEM, weighted_earned: 1, weighted_possible: 2,
        modified: toPythonIsoformat(new Date(1_700_000_000_000 + i)), score_db_table: 'csm', score_deleted: false, anonymous_user_id: null, only_if_higher: null
      }, newEventMetadata()))
    }
    await pipe.exec()
  }
  return (performance.now() - started) / 1000
}

/** Events per second of a bare XREADGROUP + XACK loop over `count` entries of `stream`. */
async function bareReader (url: string, stream: string, count: number): Promise<number> {
  const client = new Redis(url)
  await client.call('XGROUP', 'CREATE', stream, 'bare', '0')
  let seen = 0
  const started = performance.now()
  while (seen < count) {
    const reply = await client.callBuffer('XREADGROUP', 'GROUP', 'bare', 'b1', 'COUNT', String(BATCH), 'BLOCK', '1000', 'STREAMS', stream, '>') as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null
    const entries = reply?.[0]?.[1] ?? []
    if (entries.length === 0) continue
    await client.call('XACK', stream, 'bare', ...entries.map(e => String(e[0])))
    seen += entries.length
  }
  const perSecond = count / ((performance.now() - started) / 1000)
  client.disconnect()
  return perSecond
}

async function main (): Promise<void> {
  const part = startPart('event-ingestion-redis', 'Event ingestion from Redis Streams',
    `node --import tsx bench/event-ingestion-redis.ts --irrelevant ${irrelevantCount} --relevant ${relevantCount} --learners ${learners}`)
  const redis = await startRedisServer()
  const client = new Redis(redis.url)
  const db = await openBenchDb('sqlite')
  const knex = createKnex({ url: db.url })
  try {
    await migrateLatest(knex)
    const seed = createSeeder(knex)
    for (let u = 1; u <= learners; u++) {
      const user = await seed.lti11User({ lmsUserId: u, lmsUsername: `u${u}` })
      await seed.assignment(user, { lmsUserId: u, courseKey: COURSE, usageKey: PROBLEM })
    }
    const irrelevantStream = 'irr-learning-problem-score-lifecycle'
    const relevantStream = 'rel-learning-problem-score-lifecycle'
    const produceIrrelevant = await produce(client, irrelevantStream, irrelevantCount, i => 1_000_000 + i)
    const produceRelevant = await produce(client, relevantStream, relevantCount, i => 1 + (i % learners))

    const runPipeline = async (stream: string, count: number): Promise<{ perSecond: number, outcomes: Record<string, number> }> => {
      const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, REDIS_URL: redis.url }, { envFile: false })
      const pipeline = createEventPipeline({ config, knex, logger: silent })
      await pipeline.relevantUsers.load()
      const outcomes: Record<string, number> = {}
      let done = 0
      let started = 0
      let finished = 0
      let finish!: () => void
      const all = new Promise<void>(resolve => { finish = resolve })
      const source = createRedisSource({
        connection: { url: redis.url }, stream, group: 'svc', consumerName: 'bench', processor: pipeline.processor, logger: silent,
        tuning: { batchSize: BATCH, blockMs: 1000 },
        onAcked: (_stream, _id, result) => {
          outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1
          if (done++ === 0) started = performance.now()
          if (done === count) { finished = performance.now(); finish() }
        }
      })
      try {
        await source.start()
        await deadline(`pipeline on ${stream}`, 180_000, all)
      } finally {
        await source.stop()
        await pipeline.relevantUsers.stop()
      }
      return { perSecond: count / ((finished - started) / 1000), outcomes }
    }

    const bareIrrelevant = await bareReader(redis.url, irrelevantStream, irrelevantCount)
    const irrelevant = await runPipeline(irrelevantStream, irrelevantCount)
    const bareRelevant = await bareReader(redis.url, relevantStream, relevantCount)
    const relevant = await runPipeline(relevantStream, relevantCount)
    const jobs = Number(((await knex('passbacks').count({ n: '*' }))[0] as { n: number }).n)

    const irrelevantRatio = ratio(irrelevant.perSecond, bareIrrelevant)
    const figures: Figure[] = [
      {
        name: `Redis: irrelevant events (user not ours), ${irrelevantCount.toLocaleString('en')} entries`,
        value: Math.round(irrelevant.perSecond),
        unit: 'events/s',
        limit: { name: 'bare XREADGROUP + XACK, same entries', value: Math.round(bareIrrelevant), unit: 'events/s' },
        ratio: irrelevantRatio,
        target: '≥ 0.5 of bare',
        met: irrelevantRatio >= 0.5
      },
      {
        name: `Redis: relevant events (job written), ${relevantCount.toLocaleString('en')} entries, SQLite`,
        value: Math.round(relevant.perSecond),
        unit: 'events/s',
        extra: `${jobs} passback jobs written`,
        limit: { name: 'bare XREADGROUP + XACK, same entries', value: Math.round(bareRelevant), unit: 'events/s' },
        ratio: ratio(relevant.perSecond, bareRelevant)
      }
    ]
    emitResult(part.finish(figures, {
      irrelevant: { perSecond: round(irrelevant.perSecond), outcomes: irrelevant.outcomes, bare: round(bareIrrelevant), produceSeconds: round(produceIrrelevant, 1) },
      relevant: { perSecond: round(relevant.perSecond), outcomes: relevant.outcomes, bare: round(bareRelevant), produceSeconds: round(produceRelevant, 1), jobs },
      learners
    }), args.get('out'))
  } finally {
    client.disconnect()
    await knex.destroy()
    await redis.destroy()
    await db.drop()
  }
}

main().catch(err => { console.error(err); process.exit(1) })
