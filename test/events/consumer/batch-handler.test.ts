import t from 'tap'
import type { EachBatchPayload, KafkaMessage } from 'kafkajs'
import { Registry } from 'prom-client'
import { Backoff } from '../../../src/events/consumer/backoff.js'
import { createBatchHandler } from '../../../src/events/consumer/batch-handler.js'
import { createConsumerMetrics } from '../../../src/events/consumer/consumer-metrics.js'
import type { MessageProcessor, ProcessResult } from '../../../src/events/consumer/message-processor.js'

const silent = { debug () {}, info () {}, warn () {}, error () {} }

/** The kafkajs eachBatch payload, recording what the handler does with it. */
function payload (offsets: string[], highWatermark: string) {
  const calls: string[] = []
  let running = true
  const messages = offsets.map(offset => ({ offset, key: null, value: Buffer.from(offset), headers: {}, timestamp: '0', attributes: 0 }) as unknown as KafkaMessage)
  const p = {
    batch: { topic: 'topic', partition: 3, highWatermark, messages, firstOffset: () => offsets[0] ?? null },
    resolveOffset: (o: string) => { calls.push(`resolve ${o}`) },
    heartbeat: async () => { calls.push('heartbeat') },
    commitOffsetsIfNecessary: async () => { calls.push('commit?') },
    isRunning: () => running,
    isStale: () => false,
    pause: () => { calls.push('pause'); return () => { calls.push('resume') } },
    uncommittedOffsets: () => ({ topics: [] })
  }
  return { p: p as unknown as EachBatchPayload, calls, stop: () => { running = false } }
}

function processor (fn: (offset: string) => Promise<ProcessResult>): MessageProcessor {
  return { process: async m => fn(m.offset) }
}

t.test('resolve after each processed record, heartbeat, commit when due; lag and outcomes measured', async t => {
  const registry = new Registry()
  const handler = createBatchHandler({
    processor: processor(async o => ({ outcome: o === '11' ? 'irrelevant' : 'queued', jobs: 1 })),
    logger: silent, backoff: new Backoff(), heartbeatEveryMs: 1000, scheduleResume: () => { throw new Error('no retry expected') },
    metrics: createConsumerMetrics(registry)
  })
  const { p, calls } = payload(['10', '11', '12'], '20')
  await handler(p)
  t.same(calls, ['resolve 10', 'heartbeat', 'commit?', 'resolve 11', 'heartbeat', 'commit?', 'resolve 12', 'heartbeat', 'commit?', 'commit?'])
  const text = await registry.metrics()
  t.match(text, 'lti_provider_events_total{outcome="queued",backend="kafka"} 2')
  t.match(text, 'lti_provider_events_total{outcome="irrelevant",backend="kafka"} 1')
  t.match(text, 'lti_provider_event_consumer_lag{topic="topic",partition="3",backend="kafka"} 7', 'high watermark 20, next offset 13')
  t.match(text, 'lti_provider_event_batch_duration_seconds_count{backend="kafka"} 1')
})

t.test('a record that must be retried: pause, stop the batch there, resume after the backoff', async t => {
  const scheduled: number[] = []
  let resume: (() => void) | undefined
  const backoff = new Backoff({ initialMs: 1000, maxMs: 8000, random: () => 0.5 })
  const registry = new Registry()
  let failing = true
  const handler = createBatchHandler({
    processor: processor(async o => {
      if (o === '11' && failing) throw Object.assign(new Error('registry down'), { code: 'ECONNREFUSED' })
      return { outcome: 'queued' }
    }),
    logger: silent, backoff, heartbeatEveryMs: 1000, metrics: createConsumerMetrics(registry),
    scheduleResume: (delay, fn) => { scheduled.push(delay); resume = fn }
  })
  const first = payload(['10', '11', '12'], '13')
  await handler(first.p)
  t.same(first.calls, ['resolve 10', 'heartbeat', 'commit?', 'pause', 'commit?'], '11 and 12 stay unresolved: fetched again after resume')
  t.same(scheduled, [1000])
  resume?.()
  t.same(first.calls.at(-1), 'resume')
  t.match(await registry.metrics(), 'lti_provider_events_total{outcome="retry",backend="kafka"} 1')

  await handler(payload(['11', '12'], '13').p)
  await handler(payload(['11', '12'], '13').p)
  t.same(scheduled, [1000, 2000, 4000], 'exponential backoff while it keeps failing')
  failing = false
  const ok = payload(['11', '12'], '13')
  await handler(ok.p)
  t.same(ok.calls.filter(c => c.startsWith('resolve')), ['resolve 11', 'resolve 12'])
  t.equal(backoff.attempts('topic/3'), 0, 'reset after a success')
})

t.test('stops at once when the consumer stops; heartbeats during a long record; a rebalance surfaces after the commit', async t => {
  const stopping = payload(['1', '2'], '3')
  let seen = 0
  await createBatchHandler({
    processor: processor(async () => { seen++; stopping.stop(); return { outcome: 'queued' } }),
    logger: silent, backoff: new Backoff(), heartbeatEveryMs: 1000, scheduleResume: () => {}
  })(stopping.p)
  t.equal(seen, 1, 'the second record is left for the next member')

  const slow = payload(['5'], '6')
  const rebalance = Object.assign(new Error('The group is rebalancing, so a rejoin is needed'), { type: 'REBALANCE_IN_PROGRESS' })
  let beats = 0
  const p = { ...slow.p, heartbeat: async () => { beats++; slow.calls.push('heartbeat'); if (beats === 2) throw rebalance } } as EachBatchPayload
  const resolved: string[] = []
  const handler = createBatchHandler({
    processor: processor(async () => { await new Promise(resolve => setTimeout(resolve, 230)); return { outcome: 'queued' } }),
    logger: silent, backoff: new Backoff(), heartbeatEveryMs: 50, scheduleResume: () => {},
    onResolved: (_t, _p, offset) => { resolved.push(offset) }
  })
  await t.rejects(handler(p), rebalance, 'kafkajs gets the rebalance and rejoins')
  t.ok(beats >= 3, `heartbeats kept the session alive during the record (${beats})`)
  t.same(resolved, ['5'], 'the committed record was resolved before the rebalance was passed on')
})

t.test('fast path: records settled synchronously are resolved per run, before any record with work, and never past a failure', async t => {
  const registry = new Registry()
  const settledOffsets: string[] = []
  let failing = true
  const handler = createBatchHandler({
    processor: {
      process: m => {
        if (m.offset === '13') return (async () => { if (failing) throw new Error('database is down'); return { outcome: 'queued' as const, jobs: 1 } })()
        return { outcome: m.offset === '11' ? 'other_type' : 'irrelevant' }
      }
    },
    logger: silent, backoff: new Backoff(), heartbeatEveryMs: 1000, scheduleResume: () => {},
    metrics: createConsumerMetrics(registry),
    onResolved: (_t, _p, offset) => { settledOffsets.push(offset) }
  })
  const first = payload(['10', '11', '12', '13', '14', '15'], '16')
  await handler(first.p)
  t.same(first.calls, ['resolve 12', 'pause', 'commit?'], '10-12 resolved as one run before 13 was awaited; 13 failed: nothing after it')
  t.same(settledOffsets, ['10', '11', '12'])

  failing = false
  const again = payload(['13', '14', '15'], '16')
  await handler(again.p)
  t.same(again.calls, ['resolve 13', 'heartbeat', 'commit?', 'resolve 15', 'commit?'], '13 with its own heartbeat; 14-15 one run resolved at the end')
  const text = await registry.metrics()
  t.match(text, 'lti_provider_events_total{outcome="irrelevant",backend="kafka"} 4', '10, 12, 14, 15 counted per run')
  t.match(text, 'lti_provider_events_total{outcome="other_type",backend="kafka"} 1')
  t.match(text, 'lti_provider_events_total{outcome="queued",backend="kafka"} 1')
  t.match(text, 'lti_provider_events_total{outcome="retry",backend="kafka"} 1')
  t.match(text, 'lti_provider_event_consumer_lag{topic="topic",partition="3",backend="kafka"} 0')
})

t.test('fast path: a long run resolves, heartbeats and commits every fastRunMs; a throwing processor is a retry', async t => {
  let clock = 0
  const realNow = Date.now
  Date.now = () => clock
  t.teardown(() => { Date.now = realNow })
  const offsets = Array.from({ length: 10 }, (_, i) => String(i))
  const long = payload(offsets, '10')
  await createBatchHandler({
    // Each record "takes" 4 ms of the fake clock.
    processor: { process: () => { clock += 4; return { outcome: 'irrelevant' } } },
    logger: silent, backoff: new Backoff(), heartbeatEveryMs: 1000, scheduleResume: () => {}, fastRunMs: 10
  })(long.p)
  t.same(long.calls, ['resolve 2', 'heartbeat', 'commit?', 'resolve 5', 'heartbeat', 'commit?', 'resolve 8', 'heartbeat', 'commit?', 'resolve 9', 'commit?'])

  const scheduled: number[] = []
  const broken = payload(['1', '2'], '3')
  await createBatchHandler({
    processor: { process: m => { if (m.offset === '2') throw new TypeError('bug'); return { outcome: 'irrelevant' } } },
    logger: silent, backoff: new Backoff({ initialMs: 100, random: () => 0.5 }), heartbeatEveryMs: 1000, scheduleResume: delay => { scheduled.push(delay) }
  })(broken.p)
  t.same(broken.calls, ['resolve 1', 'pause', 'commit?'], 'a synchronous throw pauses the partition like a rejection')
  t.same(scheduled, [100])
})

t.test('backoff: doubling with jitter, capped, per key', async t => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 })
  t.same([b.next('a'), b.next('a'), b.next('a'), b.next('a'), b.next('a')], [80, 160, 320, 640, 800])
  t.equal(b.next('b'), 80, 'keys are independent')
  const high = new Backoff({ initialMs: 100, random: () => 1 })
  t.equal(high.next('x'), 120, '±20 %')
  b.reset('a')
  t.equal(b.attempts('a'), 0)
})
