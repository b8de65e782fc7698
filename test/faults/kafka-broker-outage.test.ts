import t from 'tap'
import { faultInjectionSkipReason } from '../support/kafka-mock-broker.js'
import {
  assertAllCommitted, assertExactlyOnce, settleAll, startKafkaFaultRig, waitFor, watchCommits, watchReadiness
} from '../support/kafka-fault-rig.js'

// Fault (1) of issue 9: every broker of the cluster down for several seconds in the middle of the
// stream, then back. The real consumer, recorder and outbox worker run against the librdkafka mock
// cluster and deliver to an Open edX-shaped outcome service.
t.setTimeout(120_000)
const skip = faultInjectionSkipReason()

t.test('all brokers down mid-stream, then up: not ready meanwhile, every grade delivered once, no early commit', { skip }, async t => {
  const rig = await startKafkaFaultRig(t, { brokers: 1, partitions: 3, learners: 20, problems: 10 })
  const first = rig.changes.slice(0, 120)
  const second = rig.changes.slice(120)
  const instance = await rig.startInstance()
  await waitFor('the consumer to join', async () => (await instance.ready()).statusCode === 200)
  const commits = watchCommits(rig)
  const readiness = watchReadiness(instance)

  await rig.publish(first)
  await waitFor('the stream to be under way', async () => await rig.count('processed_events') >= 30, 30_000, 5)
  await rig.broker.command('down -1')
  const downAt = Date.now()
  const processedAtDown = await rig.count('processed_events')
  t.comment(`cluster down with ${processedAtDown}/${first.length} of the first wave recorded`)

  // Nothing can be fetched or committed now: readiness must say so, with the consumer's reason.
  await waitFor('/ready to answer 503', async () => {
    const r = await instance.ready()
    return r.statusCode === 503 && r.consumerOk === false
  }, 20_000)
  const notReadyAfterMs = Date.now() - downAt
  // Regression: the tuned `retry` once paced only the consumer, not its client's reconnects (kafkajs defaults: ~15 s of "ready").
  t.ok(notReadyAfterMs < 8000, `not ready ${notReadyAfterMs} ms after the outage began`)
  // Keep it down a few seconds more: kafkajs keeps retrying and restarting meanwhile.
  await new Promise(resolve => setTimeout(resolve, 3000))
  t.equal((await instance.ready()).statusCode, 503, 'still not ready while the cluster is down')
  const http = await instance.app.inject({ url: '/ready/http' })
  t.equal(http.statusCode, 200, '/ready/http stays 200: launches do not need the broker, so a load balancer keeps the instance')
  const crashes = instance.app.eventConsumer!.status().crashes
  t.ok(crashes >= 1, `the consumer reported the outage (${crashes} crash(es))`)

  await rig.broker.command('up -1')
  const upAt = Date.now()
  await waitFor('/ready to answer 200 again', async () => (await instance.ready()).statusCode === 200, 30_000)
  t.comment(`ready again ${Date.now() - upAt} ms after the cluster came back (down ${upAt - downAt} ms)`)

  await rig.publish(second)
  await settleAll(rig)
  const seen = await readiness.stop()
  t.ok(seen.some(s => s.at > downAt && s.at < upAt && s.statusCode === 503), 'the background poller saw 503 during the outage')
  t.equal(seen.at(-1)?.statusCode, 200, 'and 200 at the end')

  await instance.close()
  const watched = await commits.stop()
  t.same(watched.violations, [], `no committed offset passed a record without its row (${watched.samples} samples)`)
  t.ok(watched.samples > 10, 'the committed offsets were really sampled')
  await assertAllCommitted(t, rig)
  const report = await assertExactlyOnce(t, rig)
  t.comment(`figures: faults=1 cluster outage of ${upAt - downAt} ms, events=${report.events}, pushes=${report.pushes}, duplicates=${report.duplicates}, lost=${report.lost}`)
})
