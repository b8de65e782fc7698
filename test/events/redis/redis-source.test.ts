/**
 * The Redis Streams source on a real redis-server and the test database (SQLite or MariaDB):
 * XACK only after commit, retries without ack, poison entries dead-lettered with stream and id,
 * work shared inside the group, a dead instance's pending entries claimed, entries trimmed before
 * they were read detected, and a Redis restart under a running source losing nothing.
 */
import t from 'tap'
import { Registry } from 'prom-client'
import { createConsumerMetrics } from '../../../src/events/consumer/consumer-metrics.js'
import type { ProcessResult } from '../../../src/events/consumer/message-processor.js'
import { isRedisSourceHealthy } from '../../../src/events/redis/redis-source.js'
import { createTestDb } from '../../helpers/db.js'
import { createRig, FAST, silent, waitFor } from '../../support/redis-source-rig.js'
import { redisSkipReason, startRedisServer } from '../../support/redis-server.js'

t.setTimeout(240_000)
const skip = redisSkipReason()

t.test('entries become jobs, acked only after commit; retries without ack; poison dead-lettered then acked', { skip }, async t => {
  const redis = await startRedisServer()
  t.teardown(() => redis.destroy())
  const db = await createTestDb(t)
  const rig = await createRig(t, redis, db)
  const ceIds = await rig.write('a', 5)
  // A poison entry: our type, but event_data is not Avro.
  await rig.client.call('XADD', rig.stream, '*', 'type', 'org.openedx.learning.problem.weighted_score.changed.v1', 'id', 'poison-1', 'event_data', Buffer.from([0xff, 0xff, 0xff]))
  // Another type on the stream: skipped without a decode.
  await rig.client.call('XADD', rig.stream, '*', 'type', 'org.openedx.example.other.v1', 'id', 'other-1', 'event_data', Buffer.from('x'))

  // The database fails for the third entry twice: it stays pending (unacked) and comes again.
  let failures = 2
  const seen: string[] = []
  const acked: Array<[string, ProcessResult['outcome']]> = []
  const registry = new Registry()
  const source = rig.source('c1', {
    metrics: createConsumerMetrics(registry, undefined, 'redis'),
    processor: {
      process (message) {
        seen.push(message.offset)
        if (seen.length >= 3 && failures > 0 && message.offset === seen[2]) {
          failures--
          throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
        }
        return rig.pipeline.processor.process(message)
      }
    },
    onAcked: (id, r) => acked.push([id, r.outcome])
  })
  await source.start()
  await waitFor('all acked', () => acked.length === 7)
  t.same(acked.map(a => a[1]), ['queued', 'queued', 'queued', 'queued', 'queued', 'dead', 'other_type'], 'every entry settled once, in order')
  t.equal(seen.filter(id => id === seen[2]).length, 3, 'the failing entry was read three times (two retries)')
  t.equal(await rig.pendingCount(), 0, 'nothing left pending')
  t.same((await rig.jobs()).map(j => j.ce_id), ceIds, 'one job per event')
  const dead = await db.knex('dead_letters').select('topic', 'partition', 'offset', 'error_code')
  t.same(dead.map(d => [d.topic, Number(d.partition), d.offset, d.error_code]), [[rig.stream, 0, acked[5]![0], 'EVENT_TRUNCATED']], 'dead letter names the stream and entry id')
  const text = await registry.metrics()
  t.match(text, 'lti_provider_events_total{outcome="retry",backend="redis"} 2')
  t.match(text, 'lti_provider_events_total{outcome="queued",backend="redis"} 5')
  t.ok(isRedisSourceHealthy(source.status()), 'healthy')

  // Redelivery of everything (the group moved back to the start): all duplicates, nothing new.
  await source.stop()
  await rig.client.call('XGROUP', 'SETID', rig.stream, rig.group, '0')
  acked.length = 0
  const again = rig.source('c2', { onAcked: (id, r) => acked.push([id, r.outcome]) })
  await again.start()
  await waitFor('all acked again', () => acked.length === 7)
  t.same(acked.map(a => a[1]), ['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'dead', 'other_type'], 'redelivery: nothing new')
  t.equal((await rig.jobs()).length, 5, 'still five jobs')
  t.equal((await db.knex('dead_letters').count({ n: '*' }).first() as { n: number | string }).n == 1, true, 'the dead letter kept once')
})

t.test('a second instance in the same group shares the work; nothing twice, nothing lost', { skip }, async t => {
  const redis = await startRedisServer()
  t.teardown(() => redis.destroy())
  const db = await createTestDb(t)
  const rig = await createRig(t, redis, db)
  const byInstance: Record<string, number> = { one: 0, two: 0 }
  const slow = (name: string) => ({
    async process (message: Parameters<typeof rig.pipeline.processor.process>[0]) {
      const r = await rig.pipeline.processor.process(message)
      byInstance[name]!++
      await new Promise(resolve => setTimeout(resolve, 20))
      return r
    }
  })
  const one = rig.source('one', { processor: slow('one'), tuning: { ...FAST, batchSize: 2 } })
  const two = rig.source('two', { processor: slow('two'), tuning: { ...FAST, batchSize: 2 } })
  await one.start()
  await two.start()
  const ceIds = await rig.write('share', 60)
  await waitFor('all 60 processed', async () => (await rig.processed()).length === 60 && await rig.pendingCount() === 0)
  t.ok(byInstance.one! > 0 && byInstance.two! > 0, `both instances worked (${byInstance.one} / ${byInstance.two})`)
  t.equal(byInstance.one! + byInstance.two!, 60, 'each entry processed by one instance only')
  // One learner, one problem: an event overtaken by a newer one is `stale` (no job), by design.
  t.same(await rig.processed(), ceIds, 'every event recorded: lost 0')
  const jobs = (await rig.jobs()).map(j => j.ce_id)
  t.equal(new Set(jobs).size, jobs.length, `no event's job twice: duplicated 0 (${jobs.length} jobs)`)
})

t.test('entries pending at a dead instance are claimed after the idle time and processed', { skip }, async t => {
  const redis = await startRedisServer()
  t.teardown(() => redis.destroy())
  const db = await createTestDb(t)
  const rig = await createRig(t, redis, db)
  const ceIds = await rig.write('claim', 8)
  // The dead instance: read 5 entries in our group, then vanished without acking.
  await rig.client.call('XGROUP', 'CREATE', rig.stream, rig.group, '0', 'MKSTREAM')
  await rig.client.call('XREADGROUP', 'GROUP', rig.group, 'dead', 'COUNT', '5', 'STREAMS', rig.stream, '>')
  t.equal(await rig.pendingCount(), 5)
  const live = rig.source('live')
  await live.start()
  await waitFor('the three unread processed', async () => (await rig.processed()).length === 3)
  await waitFor('the dead one\'s five claimed and processed', async () => (await rig.processed()).length === 8 && await rig.pendingCount() === 0, 20_000)
  t.same(await rig.processed(), ceIds, 'all eight recorded')
  const jobs = (await rig.jobs()).map(j => j.ce_id)
  t.equal(new Set(jobs).size, jobs.length, 'no job twice')
  const consumers = await rig.client.call('XINFO', 'CONSUMERS', rig.stream, rig.group) as unknown[][]
  const dead = consumers.find(c => c[1] === 'dead')!
  t.equal(dead[3], 0, 'nothing pending at the dead instance any more')
})

t.test('entries trimmed before the group read them: metric, one error log naming the gap, not ready', { skip }, async t => {
  const redis = await startRedisServer()
  t.teardown(() => redis.destroy())
  const db = await createTestDb(t)
  const rig = await createRig(t, redis, db)
  await rig.write('before', 3)
  const registry = new Registry()
  const errors: Array<{ obj: Record<string, unknown>, msg: string }> = []
  const logger = { ...silent, error: (obj: object, msg: string) => { errors.push({ obj: obj as Record<string, unknown>, msg }) } }
  const metrics = createConsumerMetrics(registry, undefined, 'redis')
  const first = rig.source('c1', { logger, metrics })
  await first.start()
  await waitFor('the first three', async () => (await rig.processed()).length === 3)
  await first.stop()
  t.equal(errors.length, 0, 'no gap when nothing was trimmed')

  // While we are down the LMS writes 30 more, trimming to 10 (upstream's MAXLEN, made small).
  await rig.write('during', 30, { maxLen: 10 })
  const lastDelivered = ((await rig.client.call('XINFO', 'GROUPS', rig.stream)) as unknown[][])[0]![7]
  const second = rig.source('c1', { logger, metrics })
  await second.start()
  await waitFor('the gap detected', () => second.status().gap !== undefined)
  await waitFor('what is left processed', async () => await rig.pendingCount() === 0 && (await rig.processed()).length >= 13)
  const gap = second.status().gap!
  t.equal(gap.after, lastDelivered, 'the gap starts after what the group had read')
  t.equal(errors.length, 1, 'one error log')
  t.match(errors[0]!.msg, /trimmed before this group read them.*grades resync.*EVENT_BUS_REDIS_STREAM_MAX_LEN/)
  t.match(errors[0]!.obj, { stream: rig.stream, after: gap.after, through: gap.through })
  t.notOk(isRedisSourceHealthy(second.status()), '/ready fails while the gap is recent')
  t.match(await registry.metrics(), 'lti_provider_event_bus_gaps_total{backend="redis"} 1')
  const processed = await rig.processed()
  t.ok(processed.length < 33, `events lost to the trim are not invented (${processed.length} of 33)`)

  t.equal(gap.upTo, 20, '33 written, 10 kept, 3 read: 20 lost')

  // Entries pending at a dead instance, trimmed before anyone acked them: gone from the pending list, counted.
  await second.stop()
  await rig.write('pending', 2)
  await rig.client.call('XREADGROUP', 'GROUP', rig.group, 'dead', 'COUNT', '2', 'STREAMS', rig.stream, '>')
  await rig.write('late', 3, { maxLen: 1 })
  const third = rig.source('c1', { logger, metrics })
  await third.start()
  await waitFor('the trimmed pending entries noticed (once idle long enough to claim)', () => errors.length === 3, 20_000)
  t.ok(errors.slice(1).some(e => e.obj.entries === 2), 'one log for the two pending entries that were trimmed (exact)')
  t.ok(errors.slice(1).some(e => Number(e.obj.upTo) >= 2), 'one log for the unread trimmed entries (an upper bound)')
  await waitFor('nothing pending', async () => await rig.pendingCount() === 0, 20_000)
  t.match(await registry.metrics(), 'lti_provider_event_bus_gaps_total{backend="redis"} 3')
})

t.test('Redis stopped and restarted under a running source: nothing lost, nothing twice', { skip }, async t => {
  const redis = await startRedisServer({ persistent: true })
  t.teardown(() => redis.destroy())
  const db = await createTestDb(t)
  const rig = await createRig(t, redis, db)
  const ceIds = await rig.write('r1', 20)
  let processed = 0
  const source = rig.source('c1', {
    processor: {
      async process (message) {
        const r = await rig.pipeline.processor.process(message)
        processed++
        await new Promise(resolve => setTimeout(resolve, 30))
        return r
      }
    }
  })
  await source.start()
  await waitFor('some processed', () => processed >= 5)
  await redis.stop('SIGKILL')
  await waitFor('the source to notice', () => source.status().state === 'reconnecting', 10_000)
  t.notOk(isRedisSourceHealthy(source.status()), 'not ready while Redis is away')
  t.match(source.status().lastError ?? '', /ECONNREFUSED|Connection is closed|Stream isn't writeable/)
  await new Promise(resolve => setTimeout(resolve, 1000))
  await redis.start()
  await rig.client.connect().catch(() => {})
  await waitFor('running again', () => source.status().state === 'running', 20_000)
  ceIds.push(...await rig.write('r2', 10))
  await waitFor('every event processed', async () => (await rig.processed()).length === 30 && await rig.pendingCount() === 0, 60_000)
  const jobs = await rig.jobs()
  t.equal(jobs.length, 30, 'one job per event: duplicated 0')
  t.same(jobs.map(j => j.ce_id), [...ceIds].sort(), 'lost 0')
  t.ok(source.status().failures >= 1, 'the outage was counted')
})
