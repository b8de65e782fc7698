import t from 'tap'
import { faultInjectionSkipReason } from '../support/kafka-mock-broker.js'
import {
  assertAllCommitted, assertExactlyOnce, settleAll, startKafkaFaultRig, waitFor, watchCommits, watchReadiness
} from '../support/kafka-fault-rig.js'

// Fault (2) of issue 9, on a join: an instance restarted (a deploy) while the group coordinator fails
// FindCoordinator (10), JoinGroup (11) and SyncGroup (14) with NOT_COORDINATOR (16),
// COORDINATOR_NOT_AVAILABLE (15), COORDINATOR_LOAD_IN_PROGRESS (14) and REBALANCE_IN_PROGRESS (27).
// A member that is already in the group never sends these again unless it must rejoin, so the
// errors are queued in the librdkafka mock cluster before the new instance starts.
t.setTimeout(120_000)
const skip = faultInjectionSkipReason()

const INJECT = [
  'err 10 15 1', 'err 10 14 1', 'err 10 16 1',
  'err 11 15 1', 'err 11 16 1', 'err 11 14 1', 'err 11 27 1',
  'err 14 27 1', 'err 14 14 1'
]
// kafkajs names FindCoordinator `GroupCoordinator` in its logs.
const EXPECT: Record<string, number> = { GroupCoordinator: 3, JoinGroup: 4, SyncGroup: 2 }

t.test('join errors on a restart mid-stream: not ready until joined, then every event recorded and delivered once', { skip }, async t => {
  const rig = await startKafkaFaultRig(t, { brokers: 1, partitions: 3, learners: 12, problems: 10 })
  const half = rig.changes.length / 2
  const first = await rig.startInstance()
  await waitFor('the consumer to join', async () => (await first.ready()).statusCode === 200)
  const commits = watchCommits(rig)
  await rig.publish(rig.changes.slice(0, half))
  await waitFor('the stream to be under way', async () => await rig.count('processed_events') >= 10, 30_000, 5)
  await first.close()
  const afterFirst = await rig.count('processed_events')
  t.comment(`first instance stopped after recording ${afterFirst}/${half}`)

  // The commit watcher's admin would use up FindCoordinator errors meant for the new consumer.
  await commits.pause()
  for (const cmd of INJECT) await rig.broker.command(cmd)
  const second = await rig.startInstance()
  const readiness = watchReadiness(second)
  await rig.publish(rig.changes.slice(half))
  for (const [api, atLeast] of Object.entries(EXPECT)) {
    await waitFor(`${atLeast} failed ${api} responses`, () => [...second.responseErrors(api).values()].reduce((a, b) => a + b, 0) >= atLeast, 40_000)
  }
  commits.resume()
  await waitFor('the new instance to be ready', async () => (await second.ready()).statusCode === 200, 30_000)
  const seen = Object.keys(EXPECT).map(api => `${api}: ${[...second.responseErrors(api)].map(([e, n]) => `${n}× ${e}`).join(', ')}`)
  t.pass(`the new consumer met every injected error: ${seen.join('; ')}`)
  t.ok(second.app.eventConsumer!.status().crashes >= 1, `the failed joins were reported as crashes (${second.app.eventConsumer!.status().crashes})`)

  await settleAll(rig)
  const answers = await readiness.stop()
  const firstReady = answers.findIndex(a => a.statusCode === 200)
  t.ok(answers.slice(0, Math.max(firstReady, 0)).some(a => a.statusCode === 503 && a.consumerOk === false), '/ready answered 503 while the joins failed')
  t.equal(answers.at(-1)?.statusCode, 200, 'and 200 once joined')

  await second.close()
  const watched = await commits.stop()
  t.same(watched.violations, [], `no committed offset passed a record without its row (${watched.samples} samples)`)
  await assertAllCommitted(t, rig)
  const report = await assertExactlyOnce(t, rig)
  t.comment(`figures: faults injected=${INJECT.length} group-join errors, events=${report.events}, pushes=${report.pushes}, duplicates=${report.duplicates}, lost=${report.lost}`)
})
