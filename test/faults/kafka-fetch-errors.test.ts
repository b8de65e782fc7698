import t from 'tap'
import { faultInjectionSkipReason } from '../support/kafka-mock-broker.js'
import {
  assertAllCommitted, assertExactlyOnce, settleAll, startKafkaFaultRig, waitFor, watchCommits
} from '../support/kafka-fault-rig.js'

// Fault (4) of issue 9: Fetch (apiKey 1) answered with NOT_LEADER_OR_FOLLOWER (6) and
// UNKNOWN_TOPIC_OR_PARTITION (3) in the middle of a stream. One broker: kafkajs 2.2.4 spends about
// 5 s after each such answer before fetching again, and on a 3-broker mock cluster that stall
// outlived the session and sent the member into a long ILLEGAL_GENERATION loop (see the report of
// issue 9); the single broker keeps this file within its time budget.
t.setTimeout(120_000)
const skip = faultInjectionSkipReason()

t.test('Fetch NOT_LEADER_OR_FOLLOWER and UNKNOWN_TOPIC_OR_PARTITION: every event recorded and delivered once, no early commit', { skip }, async t => {
  const rig = await startKafkaFaultRig(t, { brokers: 1, partitions: 3, learners: 12, problems: 10 })
  const instance = await rig.startInstance()
  await waitFor('the consumer to join', async () => (await instance.ready()).statusCode === 200)
  const commits = watchCommits(rig)
  const half = rig.changes.length / 2
  await rig.publish(rig.changes.slice(0, half))
  await waitFor('the stream to be under way', async () => await rig.count('processed_events') >= 10, 30_000, 5)

  await rig.broker.command('err 1 6 1')
  await rig.broker.command('err 1 3 1')
  await rig.publish(rig.changes.slice(half))
  await waitFor('every event recorded', async () => await rig.count('processed_events') === rig.changes.length, 40_000)
  const seen = instance.responseErrors('Fetch')
  t.comment(`Fetch errors the consumer logged: ${[...seen].map(([e, n]) => `${n}× ${e}`).join(', ')}`)
  t.ok(seen.has('This server is not the leader for that topic-partition'), 'NOT_LEADER_OR_FOLLOWER reached the consumer')
  t.ok(seen.has('This server does not host this topic-partition'), 'UNKNOWN_TOPIC_OR_PARTITION reached the consumer')
  t.equal((await instance.ready()).statusCode, 200, 'ready')

  await settleAll(rig)
  const duplicates = await instance.metric('duplicate')
  await instance.close()
  const watched = await commits.stop()
  t.same(watched.violations, [], `no committed offset passed a record without its row (${watched.samples} samples)`)
  await assertAllCommitted(t, rig)
  const report = await assertExactlyOnce(t, rig)
  t.comment(`figures: faults injected=2 Fetch errors, events=${report.events}, redeliveries deduplicated=${duplicates}, pushes=${report.pushes}, duplicates=${report.duplicates}, lost=${report.lost}`)
})
