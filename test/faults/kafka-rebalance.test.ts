import t from 'tap'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { faultInjectionSkipReason } from '../support/kafka-mock-broker.js'
import {
  assertAllCommitted, assertExactlyOnce, settleAll, startKafkaFaultRig, waitFor, watchCommits, type Rig
} from '../support/kafka-fault-rig.js'

// Fault (5) of issue 9: a consumer-group rebalance between two service instances sharing one
// database. Instance B is a separate process (so it can be SIGKILLed); A and its successor A2 run in
// this process. B joins mid-stream, A leaves cleanly, A2 joins, then B is killed in the middle of its
// work: after B's session expires A2 takes its partitions over from B's last committed offsets, and
// processed_events turns any record B had already stored into a duplicate, not a second grade.
t.setTimeout(120_000)
const skip = faultInjectionSkipReason()
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/**
 * Instance B: the same plugins, no outbox worker (a consumer-only instance: a kill mid-delivery is
 * another test's fault), and offsets committed only on rebalances, never on a timer, so that the
 * kill leaves stored-but-uncommitted records behind. It reports readiness and its record count.
 */
const CHILD = `
const root = process.env.REPO_ROOT
const { buildInstance, FAST_TUNING } = await import(root + 'test/support/kafka-fault-rig.ts')
const { testConfig } = await import(root + 'test/helpers/build-app.ts')
const app = await buildInstance(testConfig(JSON.parse(process.env.RIG_ENV)), { worker: false, tuning: { ...FAST_TUNING, autoCommitInterval: 600000 } })
setInterval(async () => {
  const ready = (await app.inject({ url: '/ready' })).statusCode
  const metric = await app.metrics.getSingleMetric('lti_provider_events_total')?.get()
  const handled = (metric?.values ?? []).filter(v => v.labels.outcome === 'queued' || v.labels.outcome === 'duplicate').reduce((a, v) => a + v.value, 0)
  process.stdout.write('STATUS ' + ready + ' ' + handled + '\\n')
}, 100)
`

interface Child { status: () => { ready: number, handled: number }, kill: () => Promise<NodeJS.Signals | null> }

function startChild (rig: Rig, t: { teardown: (fn: () => unknown) => void }): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    cwd: ROOT,
    env: { ...process.env, REPO_ROOT: ROOT, RIG_ENV: JSON.stringify(rig.env) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-4000) })
  const exited = new Promise<NodeJS.Signals | null>(resolve => child.once('exit', (_code, signal) => resolve(signal)))
  let last = { ready: 0, handled: 0 }
  createInterface({ input: child.stdout }).on('line', line => {
    const [word, ready, handled] = line.split(' ')
    if (word === 'STATUS') last = { ready: Number(ready), handled: Number(handled) }
  })
  void exited.then(signal => { if (signal !== 'SIGKILL') t.teardown(() => { throw new Error(`instance B exited on its own: ${stderr}`) }) })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return {
    status: () => last,
    async kill () { child.kill('SIGKILL'); return exited }
  }
}

t.test('two instances: B joins, A leaves, A2 joins, B is killed: every event processed once overall', { skip }, async t => {
  const rig = await startKafkaFaultRig(t, { brokers: 1, partitions: 4, learners: 24, problems: 10 })
  const waves = [0, 1, 2, 3, 4].map(i => rig.changes.slice(i * 48, (i + 1) * 48))
  const recorded = () => rig.count('processed_events')
  const a = await rig.startInstance()
  await waitFor('A to join', async () => (await a.ready()).statusCode === 200)
  const commits = watchCommits(rig)
  await rig.publish(waves[0]!)
  await waitFor('A under way', async () => await recorded() >= 10, 30_000, 5)

  // B joins while A consumes: the group rebalances across both.
  const b = startChild(rig, t)
  await rig.publish(waves[1]!)
  await waitFor('B to join', () => b.status().ready === 200, 40_000)
  await rig.publish(waves[2]!)
  await waitFor('B to take records', () => b.status().handled > 0, 30_000)
  await waitFor('waves 1-3 recorded', async () => await recorded() === rig.placed.size, 30_000)
  const handledByA = await a.metric('queued')
  t.ok(handledByA > 0 && b.status().handled > 0, `both instances worked (A ${handledByA}, B ${b.status().handled})`)

  // A leaves cleanly: B owns every partition.
  await a.close()
  await rig.publish(waves[3]!)
  await waitFor('wave 4 recorded by B alone', async () => await recorded() === rig.placed.size, 40_000)
  t.equal(b.status().ready, 200, 'B stayed ready through the rebalance')

  // A2 joins, then B is killed while it still holds records it stored but did not commit.
  const a2 = await rig.startInstance()
  await waitFor('A2 to join', async () => (await a2.ready()).statusCode === 200, 40_000)
  // The last wave streams in small chunks; B is killed while it keeps taking them, so what it took
  // since the group's last rebalance (B commits only then) is stored but not committed.
  const last = waves[4]!
  const chunks = Array.from({ length: last.length / 4 }, (_, i) => last.slice(i * 4, (i + 1) * 4))
  for (const chunk of chunks.slice(0, chunks.length / 2)) {
    await rig.publish(chunk)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  const bBefore = b.status().handled
  // B may still be rejoining after A2's join: it is killed either way, mid-work or mid-rebalance.
  const tookPart = await waitFor('B to take part of the last wave', () => b.status().handled > bBefore, 5000, 5).then(() => true, () => false)
  t.equal(await b.kill(), 'SIGKILL', `B killed, not stopped (${tookPart ? 'after taking part of the last wave' : 'while rebalancing'})`)
  for (const chunk of chunks.slice(chunks.length / 2)) await rig.publish(chunk)
  const killedAt = Date.now()
  await waitFor('every event recorded after B died', async () => await recorded() === rig.changes.length, 40_000)
  // B's records were stored before the kill; A2 must still get B's partitions (after B's session
  // expires), read them again from B's last commit and commit them itself.
  await waitFor('A2 to commit every partition to its end', async () => {
    const [committed, high] = [await rig.committed().catch(() => new Map<number, bigint>()), await rig.highWatermarks()]
    return [...high].every(([p, end]) => committed.get(p) === end)
  }, 40_000, 200)
  t.comment(`A2 took B's partitions over and committed them ${Date.now() - killedAt} ms after the kill`)
  // Whether B left stored-but-uncommitted records depends on when the group last rebalanced (B
  // commits then); any that came back to A2 are counted as duplicates, never as a second job.
  const redelivered = await a2.metric('duplicate')

  await settleAll(rig)
  await a2.close()
  const watched = await commits.stop()
  t.same(watched.violations, [], `no committed offset passed a record without its row (${watched.samples} samples)`)
  await assertAllCommitted(t, rig)
  const report = await assertExactlyOnce(t, rig)
  t.comment(`figures: faults=4 group changes (join, clean leave, join, SIGKILL), events=${report.events}, redeliveries deduplicated=${redelivered}, pushes=${report.pushes}, duplicates=${report.duplicates}, lost=${report.lost}`)
})
