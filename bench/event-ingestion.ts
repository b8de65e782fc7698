/**
 * Event ingestion from a Kafka-protocol broker (librdkafka's mock cluster): irrelevant events/s
 * (learners who never came through LTI: decoded and dropped, no query) and relevant events/s (a
 * dedupe row, the score ledger and a passback job written per event), each side by side with a
 * bare kafkajs consumer reading the same messages (it only counts them).
 *
 *   node --import tsx bench/event-ingestion.ts [--irrelevant 100000] [--relevant 3000] [--learners 200]
 *       [--profile dir] [--out file]
 *
 * The messages are produced first (Open edX wire format: Avro with Confluent framing and the
 * CloudEvent headers), then each consumer reads its topic from the beginning in its own group;
 * the clock runs from its first message to its last. SQLite in a file, as one node runs it.
 */
import { Kafka, Partitioners, logLevel } from 'kafkajs'
import { loadConfig } from '../src/config.js'
import { createKnex } from '../src/db/connection.js'
import { migrateLatest } from '../src/db/migrate.js'
import { createEventConsumer } from '../src/events/consumer/event-consumer.js'
import { createEventPipeline } from '../src/events/consumer/event-pipeline.js'
import { kafkaConnectionFromConfig } from '../src/events/consumer/kafka-client.js'
import { fullTopicName } from '../src/events/decode/event-type.js'
import { toPythonIsoformat } from '../src/events/decode/python-isoformat.js'
import { createWeightedScoreEncoder, newEventMetadata } from '../src/events/decode/weighted-score-encoder.js'
import { createSeeder } from '../test/support/grade-targets-seed.js'
import { startMockKafka, type MockKafka } from '../test/support/kafka-mock-broker.js'
import { numberArg, parseArgs } from './support/args.js'
import { openBenchDb } from './support/bench-db.js'
import { createWindowProfiler } from './support/profiler.js'
import { emitResult, ratio, round, startPart, type Figure } from './support/result.js'

const args = parseArgs()
const irrelevantCount = numberArg(args, 'irrelevant', 100_000)
const relevantCount = numberArg(args, 'relevant', 3000)
const learners = numberArg(args, 'learners', 200)
const profiler = createWindowProfiler('event-ingestion', args.get('profile'))

const COURSE = 'course-v1:edX+DemoX+Demo_Course'
const PROBLEM = 'block-v1:edX+DemoX+Demo_Course+type@problem+block@p1'
/**
 * The mock cluster keeps only about 2 MB per partition (older segments are dropped: the low
 * watermark moves), about 11,000 of these events: 12 partitions hold 100,000 with room to spare.
 */
const PARTITIONS = 12
const silent = { debug () {}, info () {}, warn () {}, error () {} }
const TUNING = { sessionTimeout: 6000, rebalanceTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 100 }

/** A bounded wait: a consumer that stalls fails the part instead of hanging the whole bench. */
function deadline<T> (what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([promise, new Promise<T>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms) })])
    .finally(() => clearTimeout(timer))
}

async function produce (broker: MockKafka, topic: string, count: number, userIdOf: (i: number) => number): Promise<number> {
  const encoder = createWeightedScoreEncoder({ valueSchemaId: 7, keySchemaId: 8 })
  const producer = new Kafka({ brokers: broker.bootstrap, logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  const started = performance.now()
  for (let start = 0; start < count; start += 2000) {
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: Math.min(2000, count - start) }, (_, j) => {
        const i = start + j
        const e = encoder.encode({
          user_id: userIdOf(i), course_id: COURSE, usage_id: PROBLEM, weighted_earned: 1, weighted_possible: 2,
          modified: toPythonIsoformat(new Date(1_700_000_000_000 + i)), score_db_table: 'csm', score_deleted: false, anonymous_user_id: null, only_if_higher: null
        }, newEventMetadata())
        return { key: e.key, value: e.value, headers: e.headers }
      })
    })
  }
  await producer.disconnect()
  return (performance.now() - started) / 1000
}

/** Events per second of a bare kafkajs consumer that reads `count` messages of `topic` and counts them. */
async function bareConsumer (broker: MockKafka, topic: string, count: number): Promise<number> {
  const kafka = new Kafka({ brokers: broker.bootstrap, logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({ groupId: `bare-${topic}`, ...TUNING })
  let seen = 0
  let started = 0
  let finished = 0
  let finish!: () => void
  const all = new Promise<void>(resolve => { finish = resolve })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachBatch: async ({ batch }) => {
      if (seen === 0) started = performance.now()
      seen += batch.messages.length
      if (seen >= count && finished === 0) { finished = performance.now(); finish() }
    }
  })
  await deadline('bare consumer', 120_000, all)
  await consumer.disconnect()
  return count / ((finished - started) / 1000)
}

async function main (): Promise<void> {
  const part = startPart('event-ingestion', 'Event ingestion from the broker',
    `node --import tsx bench/event-ingestion.ts --irrelevant ${irrelevantCount} --relevant ${relevantCount} --learners ${learners}`)
  const irrelevantTopic = fullTopicName('irr')
  const relevantTopic = fullTopicName('rel')
  const broker = await startMockKafka({ topics: [{ topic: irrelevantTopic, partitions: PARTITIONS }, { topic: relevantTopic, partitions: 4 }] })
  const db = await openBenchDb('sqlite')
  const knex = createKnex({ url: db.url })
  try {
    await migrateLatest(knex)
    const seed = createSeeder(knex)
    for (let u = 1; u <= learners; u++) {
      const user = await seed.lti11User({ lmsUserId: u, lmsUsername: `u${u}` })
      await seed.assignment(user, { lmsUserId: u, courseKey: COURSE, usageKey: PROBLEM })
    }
    const produceIrrelevant = await produce(broker, irrelevantTopic, irrelevantCount, i => 1_000_000 + i)
    const produceRelevant = await produce(broker, relevantTopic, relevantCount, i => 1 + (i % learners))

    const runPipeline = async (prefix: string, topic: string, count: number): Promise<{ perSecond: number, outcomes: Record<string, number> }> => {
      const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, KAFKA_BROKERS: broker.bootstrap.join(','), KAFKA_GROUP_ID: `svc-${prefix}`, EVENT_BUS_TOPIC_PREFIX: prefix }, { envFile: false })
      const pipeline = createEventPipeline({ config, knex, logger: silent })
      await pipeline.relevantUsers.load()
      const outcomes: Record<string, number> = {}
      let done = 0
      let started = 0
      let finished = 0
      let finish!: () => void
      const all = new Promise<void>(resolve => { finish = resolve })
      const consumer = createEventConsumer({
        connection: kafkaConnectionFromConfig(config),
        groupId: config.KAFKA_GROUP_ID,
        topic,
        fromBeginning: true,
        processor: pipeline.processor,
        logger: silent,
        kafkaLogLevel: logLevel.NOTHING,
        tuning: { ...TUNING, partitionsConsumedConcurrently: config.KAFKA_PARTITIONS_CONCURRENCY },
        onResolved: (_topic, _partition, _offset, result) => {
          outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1
          if (done++ === 0) started = performance.now()
          if (done === count) { finished = performance.now(); finish() }
        }
      })
      try {
        await profiler.run(prefix, async () => {
          await consumer.start()
          await deadline(`pipeline on ${topic}`, 180_000, all)
        })
      } finally {
        await consumer.stop()
        await pipeline.relevantUsers.stop()
      }
      return { perSecond: count / ((finished - started) / 1000), outcomes }
    }

    const bareIrrelevant = await bareConsumer(broker, irrelevantTopic, irrelevantCount)
    const irrelevant = await runPipeline('irr', irrelevantTopic, irrelevantCount)
    const bareRelevant = await bareConsumer(broker, relevantTopic, relevantCount)
    const relevant = await runPipeline('rel', relevantTopic, relevantCount)
    const jobs = Number(((await knex('passbacks').count({ n: '*' }))[0] as { n: number }).n)

    const irrelevantRatio = ratio(irrelevant.perSecond, bareIrrelevant)
    const figures: Figure[] = [
      {
        name: `Irrelevant events (user not ours), ${irrelevantCount.toLocaleString('en')} events, ${PARTITIONS} partitions`,
        value: Math.round(irrelevant.perSecond),
        unit: 'events/s',
        limit: { name: 'bare kafkajs consumer, same messages', value: Math.round(bareIrrelevant), unit: 'events/s' },
        ratio: irrelevantRatio,
        target: '≥ 100,000/s and ≥ 0.5 of bare',
        met: irrelevant.perSecond >= 100_000 && irrelevantRatio >= 0.5
      },
      {
        name: `Relevant events (job written), ${relevantCount.toLocaleString('en')} events, 4 partitions, SQLite`,
        value: Math.round(relevant.perSecond),
        unit: 'events/s',
        extra: `${jobs} passback jobs written`,
        limit: { name: 'bare kafkajs consumer, same messages', value: Math.round(bareRelevant), unit: 'events/s' },
        ratio: ratio(relevant.perSecond, bareRelevant)
      }
    ]
    emitResult(part.finish(figures, {
      irrelevant: { perSecond: round(irrelevant.perSecond), outcomes: irrelevant.outcomes, bare: round(bareIrrelevant), produceSeconds: round(produceIrrelevant, 1) },
      relevant: { perSecond: round(relevant.perSecond), outcomes: relevant.outcomes, bare: round(bareRelevant), produceSeconds: round(produceRelevant, 1), jobs },
      learners,
      partitions: PARTITIONS
    }), args.get('out'))
  } finally {
    await knex.destroy()
    await broker.stop()
    await db.drop()
  }
}

main().catch(err => { console.error(err); process.exit(1) })
