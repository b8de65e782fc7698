import t, { type Test } from 'tap'
import { faultInjectionSkipReason } from '../support/kafka-mock-broker.js'
import {
  assertAllCommitted, assertExactlyOnce, settleAll, startKafkaFaultRig, waitFor, watchCommits, type Instance, type Rig
} from '../support/kafka-fault-rig.js'

// Fault (2) of issue 9, on a member that is consuming: the group coordinator answering OffsetCommit (8),
// Heartbeat (12) and FindCoordinator (10) with NOT_COORDINATOR (16), COORDINATOR_NOT_AVAILABLE (15),
// COORDINATOR_LOAD_IN_PROGRESS (14) and REBALANCE_IN_PROGRESS (27), injected into the librdkafka mock
// cluster while the service consumes a stream of score changes. JoinGroup and SyncGroup errors need a
// fresh join: kafka-coordinator-join-errors.test.ts.
t.setTimeout(120_000)
const skip = faultInjectionSkipReason()

interface Phase {
  name: string
  /** Launcher commands: `err <apiKey> <errorCode> <count>`. */
  inject: string[]
  /** kafkajs API names whose failed responses must show up in the consumer's log, with how many at least. */
  expect: Record<string, number>
  /** The commit watcher's admin asks FindCoordinator too: keep it away from errors meant for the consumer. */
  pauseWatcher?: boolean
}

// kafkajs names FindCoordinator `GroupCoordinator` in its logs.
const PHASES: Phase[] = [
  {
    name: 'OffsetCommit fails with each coordinator error in turn',
    inject: ['err 8 16 1', 'err 8 15 1', 'err 8 14 1', 'err 8 27 1'],
    expect: { OffsetCommit: 4 }
  },
  {
    name: 'Heartbeat REBALANCE_IN_PROGRESS (rejoin), then NOT_COORDINATOR (FindCoordinator again, failing twice)',
    inject: ['err 12 27 1', 'err 12 16 1', 'err 10 15 1', 'err 10 14 1'],
    expect: { Heartbeat: 2, GroupCoordinator: 2 },
    pauseWatcher: true
  }
]

function total (errors: Map<string, number>): number {
  return [...errors.values()].reduce((a, b) => a + b, 0)
}

async function runPhase (t: Test, rig: Rig, instance: Instance, phase: Phase, wave: Rig['changes'], pause: () => Promise<void>, resume: () => void): Promise<number> {
  const before = Object.fromEntries(Object.keys(phase.expect).map(api => [api, total(instance.responseErrors(api))]))
  if (phase.pauseWatcher) await pause()
  for (const cmd of phase.inject) await rig.broker.command(cmd)
  // A trickle, not one burst: commits (and so OffsetCommit errors) happen only while new records are resolved.
  for (let i = 0; i < wave.length; i += 3) {
    await rig.publish(wave.slice(i, i + 3))
    await new Promise(resolve => setTimeout(resolve, 500))
  }
  const expected = rig.placed.size
  await waitFor(`${expected} events recorded (${phase.name})`, async () => await rig.count('processed_events') === expected, 40_000, 50)
  for (const [api, atLeast] of Object.entries(phase.expect)) {
    await waitFor(`${atLeast} failed ${api} responses`, () => total(instance.responseErrors(api)) - before[api]! >= atLeast, 30_000)
  }
  resume()
  await waitFor('the consumer to be ready after the phase', async () => (await instance.ready()).statusCode === 200, 30_000)
  const seen = Object.keys(phase.expect).map(api => `${api}: ${[...instance.responseErrors(api)].map(([e, n]) => `${n}× ${e}`).join(', ')}`)
  t.pass(`${phase.name}: survived; errors seen by the consumer so far: ${seen.join('; ')}`)
  return phase.inject.reduce((n, cmd) => n + Number(cmd.split(' ')[3]), 0)
}

t.test('coordinator errors while consuming: each event recorded and delivered once, no early commit', { skip }, async t => {
  const rig = await startKafkaFaultRig(t, { brokers: 1, partitions: 3, learners: 12, problems: 10 })
  const instance = await rig.startInstance()
  await waitFor('the consumer to join', async () => (await instance.ready()).statusCode === 200)
  const commits = watchCommits(rig)

  const waveSize = Math.ceil(rig.changes.length / (PHASES.length + 1))
  // A first wave with no fault: offsets are committed, so later faults hit a group with history.
  await rig.publish(rig.changes.slice(0, waveSize))
  await waitFor('the first wave', async () => await rig.count('processed_events') === waveSize, 30_000)
  let injected = 0
  for (const [i, phase] of PHASES.entries()) {
    injected += await runPhase(t, rig, instance, phase, rig.changes.slice((i + 1) * waveSize, (i + 2) * waveSize), () => commits.pause(), () => commits.resume())
  }

  await settleAll(rig)
  const duplicates = await instance.metric('duplicate')
  await instance.close()
  const watched = await commits.stop()
  t.same(watched.violations, [], `no committed offset passed a record without its row (${watched.samples} samples)`)
  await assertAllCommitted(t, rig)
  const report = await assertExactlyOnce(t, rig)
  t.comment(`figures: faults injected=${injected} coordinator errors, events=${report.events}, redeliveries deduplicated=${duplicates}, pushes=${report.pushes}, duplicates=${report.duplicates}, lost=${report.lost}`)
})
