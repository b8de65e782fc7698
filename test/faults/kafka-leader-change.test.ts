import t from 'tap'
import { faultInjectionSkipReason } from '../support/kafka-mock-broker.js'
import {
  assertAllCommitted, assertExactlyOnce, settleAll, startKafkaFaultRig, waitFor, watchCommits, type Rig
} from '../support/kafka-fault-rig.js'

// Fault (3) of issue 9 on a 3-broker librdkafka mock cluster: partition leadership moved while the
// service consumes, and one partition leaderless for a while then led again. Fetch errors:
// kafka-fetch-errors.test.ts.
t.setTimeout(120_000)
const skip = faultInjectionSkipReason()

async function published (rig: Rig, wave: Rig['changes']): Promise<void> {
  await rig.publish(wave)
  const expected = rig.placed.size
  await waitFor(`${expected} events recorded`, async () => await rig.count('processed_events') === expected, 40_000, 20)
}

t.test('leaders move, a partition goes leaderless: every event recorded and delivered once, no early commit', { skip }, async t => {
  const rig = await startKafkaFaultRig(t, { brokers: 3, partitions: 3, learners: 12, problems: 10 })
  const instance = await rig.startInstance()
  await waitFor('the consumer to join', async () => (await instance.ready()).statusCode === 200)
  const commits = watchCommits(rig)
  const waves = [0, 1, 2, 3].map(i => rig.changes.slice(i * 30, (i + 1) * 30))
  let faults = 0

  await published(rig, waves[0]!)

  // Every partition to another broker while the second wave is consumed.
  await rig.publish(waves[1]!)
  for (let p = 0; p < rig.partitions; p++) await rig.broker.command(`leader ${rig.topic} ${p} ${((p + 1) % 3) + 1}`)
  faults += rig.partitions
  await waitFor('the second wave', async () => await rig.count('processed_events') === rig.placed.size, 40_000)
  t.pass('leadership of every partition moved mid-stream')

  // Partition 0 leaderless for 3 s (its records were produced before), then led by broker 3.
  await rig.publish(waves[2]!)
  await rig.broker.command(`leader ${rig.topic} 0 -1`)
  faults++
  await new Promise(resolve => setTimeout(resolve, 3000))
  await rig.broker.command(`leader ${rig.topic} 0 3`)
  await waitFor('the third wave after the partition got a leader again', async () => await rig.count('processed_events') === rig.placed.size, 40_000)
  t.pass('a leaderless partition was consumed once led again')

  await published(rig, waves[3]!)
  await waitFor('the consumer to be ready', async () => (await instance.ready()).statusCode === 200, 30_000)
  await settleAll(rig)
  const duplicates = await instance.metric('duplicate')
  await instance.close()
  const watched = await commits.stop()
  t.same(watched.violations, [], `no committed offset passed a record without its row (${watched.samples} samples)`)
  await assertAllCommitted(t, rig)
  const report = await assertExactlyOnce(t, rig)
  t.comment(`figures: faults injected=${faults} (${rig.partitions} leader moves, 1 leaderless period), events=${report.events}, redeliveries deduplicated=${duplicates}, pushes=${report.pushes}, duplicates=${report.duplicates}, lost=${report.lost}`)
})
