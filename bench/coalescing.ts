/**
 * Coalescing: how many pushes reach the platform for a burst of 100 score changes, (a) to one
 * problem a learner launched directly (leaf jobs: each newer change supersedes the older jobs not
 * yet sent), and (b) to the problems of one unit a learner launched as a whole (composite jobs:
 * sent once, LTI_AGGREGATE_SCORE_PASSBACK_DELAY after the burst, from the latest scores).
 *
 *   node --import tsx bench/coalescing.ts [--burst 100] [--delay 2] [--profile dir] [--out file]
 *
 * Full loop on loopback (broker, fake LMS, LTI 1.1 outcome service, the service on SQLite at its
 * default worker settings); the delay is lowered from 900 s to `--delay` seconds so the run ends.
 * Each burst is one producer batch (one learner: one key, one partition, in order).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { numberArg, parseArgs } from './support/args.js'
import { block, startFullStack, type FullStack, type Learner } from './support/full-stack.js'
import { createWindowProfiler } from './support/profiler.js'
import { emitResult, round, startPart, type Figure } from './support/result.js'

const args = parseArgs()
const burst = numberArg(args, 'burst', 100)
const delay = numberArg(args, 'delay', 2)
const profiler = createWindowProfiler('coalescing', args.get('profile'))

async function count (stack: FullStack, table: string, where?: (q: any) => any): Promise<number> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const q = stack.app.knex(table)
  const row = await (where ? where(q) : q).count({ n: '*' }).first() as { n: number | string }
  return Number(row.n)
}

/** Waits until `events` were processed, no job of the stack is waiting or running, and `quietMs` passed without a push. */
async function settle (stack: FullStack, events: number, quietMs: number, limitMs = 60_000): Promise<void> {
  const started = Date.now()
  let lastPushes = -1
  let lastChange = Date.now()
  for (;;) {
    if (Date.now() - started > limitMs) throw new Error('coalescing: not settled within the time limit')
    const processed = await count(stack, 'processed_events')
    const open = await count(stack, 'passbacks', q => q.whereIn('status', ['pending', 'failed', 'delivering']))
    const pushes = stack.outcomes.requests.length
    if (pushes !== lastPushes) { lastPushes = pushes; lastChange = Date.now() }
    if (processed >= events && open === 0 && Date.now() - lastChange >= quietMs) return
    await sleep(50)
  }
}

async function main (): Promise<void> {
  const part = startPart('coalescing', 'Coalescing of score bursts', `node --import tsx bench/coalescing.ts --burst ${burst} --delay ${delay}`)
  const stack = await startFullStack({ env: { LTI_AGGREGATE_SCORE_PASSBACK_DELAY: String(delay) }, consumerMaxWaitMs: 50 })
  try {
    const p1 = block('problem', 'p1')
    const p2 = block('problem', 'p2')
    const onProblem: Learner = await stack.launch('burst-problem-learner', p1)
    const onUnit: Learner = await stack.launch('burst-unit-learner', block('vertical', 'unit1'))
    // Warm-up: the group's first fetch round on the mock takes seconds; not part of the bursts.
    await stack.publish([{ lmsUserId: onProblem.lmsUserId, usageKey: block('problem', 'p3'), earned: 1, possible: 1, modifiedMs: Date.now() - 60_000 }])
    await settle(stack, 1, 0)

    const base = Date.now()
    const problemBurst = Array.from({ length: burst }, (_, i) => ({ lmsUserId: onProblem.lmsUserId, usageKey: p1, earned: (i % 3) + 1, possible: 3, modifiedMs: base + i }))
    // unit1 holds p1 (1 point) and p2 (2 points, weight 5). The burst climbs to full marks on both,
    // and the LMS (whose progress API the composite reads) holds those final scores, as it would.
    const unitBurst = Array.from({ length: burst }, (_, i) => {
      const fraction = Math.min(1, (i + 2) / burst)
      return i % 2 === 0
        ? { lmsUserId: onUnit.lmsUserId, usageKey: p1, earned: fraction >= 1 ? 1 : 0, possible: 1, modifiedMs: base + i }
        : { lmsUserId: onUnit.lmsUserId, usageKey: p2, earned: Math.round(5 * fraction * 100) / 100, possible: 5, modifiedMs: base + i }
    })
    const unitUsername = (await stack.app.knex('lti_users').where({ lti_user_id: onUnit.ltiUserId }).first('lms_username') as { lms_username: string }).lms_username
    stack.lms.state.setProblemScore(unitUsername, p1, 1, 1)
    stack.lms.state.setProblemScore(unitUsername, p2, 2, 2)
    const started = performance.now()
    await profiler.run('bursts', async () => {
      await stack.publish(problemBurst)
      await stack.publish(unitBurst)
      await settle(stack, 1 + 2 * burst, 1500)
    })
    const seconds = (performance.now() - started) / 1000
    const problemPushes = stack.pushesFor(onProblem.sourcedId)
    const unitPushes = stack.pushesFor(onUnit.sourcedId)
    const lastProblemScore = stack.outcomes.ledger.filter(r => r.sourcedId === onProblem.sourcedId).at(-1)?.score
    const lastUnitScore = stack.outcomes.ledger.filter(r => r.sourcedId === onUnit.sourcedId).at(-1)?.score
    const jobs = await stack.app.knex('passbacks').select('method', 'status').count({ n: '*' }).groupBy('method', 'status') as Array<{ method: string, status: string, n: number }>

    const figures: Figure[] = [
      {
        name: `Pushes for a burst of ${burst} score changes to one unit (composite, delay ${delay} s)`,
        value: unitPushes,
        unit: 'pushes',
        extra: `last score sent ${lastUnitScore ?? 'none'} (final: 1.0)`,
        target: 'one push per unit burst',
        met: unitPushes === 1
      },
      {
        name: `Pushes for a burst of ${burst} score changes to one problem (leaf)`,
        value: problemPushes,
        unit: 'pushes',
        extra: `last score sent ${lastProblemScore ?? 'none'} (final change: ${(((burst - 1) % 3) + 1) / 3})`
      }
    ]
    emitResult(part.finish(figures, {
      burst,
      compositeDelaySeconds: delay,
      settledSeconds: round(seconds, 1),
      problem: { pushes: problemPushes, lastScore: lastProblemScore },
      unit: { pushes: unitPushes, lastScore: lastUnitScore },
      jobs: jobs.map(j => ({ method: j.method, status: j.status, n: Number(j.n) }))
    }), args.get('out'))
  } finally {
    await stack.close()
  }
}

main().catch(err => { console.error(err); process.exit(1) })
