/**
 * Soak with faults: the whole service loop kept busy for a bounded time while a fault injector
 * restarts the broker and the platforms, then every gradebook checked against the ledger of score
 * changes: zero lost, zero duplicated (definitions in support/soak-check.ts).
 *
 *   node --import tsx bench/soak.ts [--seconds 120] [--quick] [--db sqlite|mariadb]
 *       [--mariadb-url mysql://lti:lti@127.0.0.1:33061] [--learners 20] [--rate 40]
 *       [--drain-seconds 120] [--seed 1] [--log-level error] [--faults none|<kind,…>]
 *       [--kafka-as-configured]
 *
 * Phases: start (broker, fakes, service, registrations) → warm-up (half the learners launch on
 * both problems) → production for `--seconds`: LTI 1.1 and LTI 1.3 launches (new and returning
 * learners), score changes at `--rate` events/s for launched (learner, problem) pairs, faults on
 * schedule (support/soak-faults.ts) → stop producing, every fault undone → drain: wait (at most
 * `--drain-seconds`) until every change is recorded and the outbox has nothing left to send →
 * check → summary. `--quick`: 10 s of production, 6 learners per platform, 45 s drain at most:
 * the CI form (test/faults/soak.test.ts).
 *
 * Prints a summary, then one line `SOAK_RESULT {json}`. Exit 0 only when lost = 0, duplicated = 0,
 * no push matched no change, every change was recorded, and the drain finished in time.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { loadavg } from 'node:os'
import { isoToMicros } from '../test/support/fake-ags-platform.js'
import { numberArg, parseArgs } from './support/args.js'
import { DEFAULT_MARIADB_URL, openBenchDb, type BenchBackend } from './support/bench-db.js'
import { checkGradebooks, countAgsSameTimestampResends, ingestedCount, outboxBacklog, readIngested, readOutbox, resolveTargetKeys, type AgsPush } from './support/soak-check.js'
import { createFaultInjector, planFaults } from './support/soak-faults.js'
import { createSoakLauncher, SOAK_PROBLEMS, type Protocol } from './support/soak-launcher.js'
import { createSoakPublisher } from './support/soak-publisher.js'
import { createReadinessSampler, readinessFigures } from './support/soak-readiness.js'
import { formatSummary, type SoakResult } from './support/soak-report.js'
import { SOAK_KAFKA_TIMINGS, soakServiceEnv, startSoakStack } from './support/soak-stack.js'

const args = parseArgs()
const quick = args.get('quick') === 'true'
const seconds = numberArg(args, 'seconds', quick ? 10 : 120)
const learners = numberArg(args, 'learners', quick ? 6 : 20)
const rate = numberArg(args, 'rate', 40)
const drainSeconds = numberArg(args, 'drain-seconds', quick ? 45 : 120)
const seed = numberArg(args, 'seed', Date.now() % 1_000_000)
const backend = (args.get('db') ?? 'sqlite') as BenchBackend
const mariadbUrl = args.get('mariadb-url') ?? DEFAULT_MARIADB_URL
const logLevel = args.get('log-level') ?? 'error'
const kafkaAsConfigured = args.get('kafka-as-configured') === 'true'
if (backend !== 'sqlite' && backend !== 'mariadb') throw new Error('--db must be sqlite or mariadb')

/** mulberry32: the run's choices (learners, scores, fault order) repeat with the same --seed. */
function seededRandom (s: number): () => number {
  let a = s >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

async function main (): Promise<number> {
  const started = Date.now()
  const load = loadavg()[0] ?? 0
  const random = seededRandom(seed)
  const say = (line: string): void => { process.stderr.write(`[soak ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`) }

  const db = await openBenchDb(backend, mariadbUrl)
  const stack = await startSoakStack({ db, logLevel, lowerKafkaTimings: !kafkaAsConfigured }).catch(async err => { await db.drop(); throw err })
  try {
    say(`service ready on ${backend} (${stack.publicUrl}); broker ${stack.kafka.bootstrap.join(',')}`)
    const launcher = createSoakLauncher(stack, { learnersPerProtocol: learners, random })
    const publisher = await createSoakPublisher(stack, launcher.targets, random)

    // Warm-up: half the learners of each platform on both problems; the rest arrive during production.
    for (let i = 1; i <= Math.ceil(learners / 2); i++) {
      for (const block of SOAK_PROBLEMS) {
        await launcher.launchOne('lti11', i, block)
        await launcher.launchOne('lti13', i, block)
      }
    }
    say(`warm-up: ${launcher.targets.size} grade targets`)

    const productionStart = Date.now()
    const stop = new AbortController()
    // `--faults none`: the same load without faults (the baseline to compare a failing run with);
    // `--faults broker-down,ags-restart`: only those kinds of the schedule.
    const only = args.get('faults')
    const plan = planFaults(seconds, quick, random).filter(f => only === undefined || only.split(',').includes(f.kind))
    const injector = createFaultInjector(stack, plan, random)
    const done = new AbortController()
    const readiness = createReadinessSampler(stack.publicUrl, 500, () => productionStart, () => {
      const status = stack.app.eventConsumer?.status()
      return status === undefined ? 'off' : `${status.state}${status.lastError !== undefined && status.state !== 'running' ? ` (${status.lastError.slice(0, 80)})` : ''}`
    })
    const publishDeadline = productionStart + (seconds + drainSeconds) * 1000
    const launchLoop = async (protocol: Protocol): Promise<void> => {
      while (!stop.signal.aborted) {
        await launcher.launchOne(protocol)
        await sleep(25)
      }
    }
    const batch = Math.max(1, Math.round(rate / 10))
    const publishLoop = async (): Promise<void> => {
      while (!stop.signal.aborted) {
        const began = Date.now()
        await publisher.publishBatch(batch, publishDeadline)
        await sleep(Math.max(0, 100 - (Date.now() - began)))
      }
    }
    say(`production: ${seconds} s, ${rate} changes/s, ${plan.length} faults planned (seed ${seed})`)
    const faults = injector.run(stop.signal)
    const sampling = readiness.run(stop.signal, done.signal)
    const loops = Promise.all([launchLoop('lti11'), launchLoop('lti13'), publishLoop()])
    await sleep(seconds * 1000)
    stop.abort()
    // Faults first: the publisher may be waiting for the broker to come back.
    await faults
    await loops
    const productionSeconds = (Date.now() - productionStart) / 1000
    say(`production over: ${publisher.stats.events} changes published, faults ${JSON.stringify(injector.injected)}`)

    // Drain: every change recorded and nothing left to send, bounded.
    const drainStart = Date.now()
    let drained = false
    while (Date.now() - drainStart < drainSeconds * 1000) {
      if (await ingestedCount(stack.app.knex) >= publisher.ledger.length && await outboxBacklog(stack.app.knex) === 0) {
        drained = true
        break
      }
      await sleep(250)
    }
    const drainSecondsTaken = (Date.now() - drainStart) / 1000
    done.abort()
    await sampling
    say(drained ? `drained in ${drainSecondsTaken.toFixed(1)} s` : `DRAIN TIMED OUT after ${drainSeconds} s`)

    const keys = await resolveTargetKeys(stack.app.knex, [...launcher.targets.values()])
    const agsPushes: AgsPush[] = stack.ags.scores.map(s => ({ lineitem: s.lineitem, userId: s.userId, scoreGiven: s.scoreGiven, scoreMaximum: s.scoreMaximum, timestampUs: s.timestampUs }))
    const check = checkGradebooks({
      targets: [...launcher.targets.values()].map(t => ({ ...t, targetKey: keys.get(t.id) })),
      ledger: publisher.ledger,
      lti11Pushes: stack.outcomes.ledger.map(r => ({ sourcedId: r.sourcedId, score: r.score })),
      agsPushes,
      agsSameTimestampResends: countAgsSameTimestampResends(stack.ags.scoreRequests, agsPushes, isoToMicros),
      outbox: await readOutbox(stack.app.knex),
      ingested: await readIngested(stack.app.knex)
    })
    await publisher.close()

    const result: SoakResult = {
      ok: drained && check.lost === 0 && check.duplicated === 0 && check.unknownPushes === 0 && check.notIngested === 0 && injector.errors.length === 0,
      backend,
      seed,
      quick,
      seconds: { production: round1(productionSeconds), drain: round1(drainSecondsTaken), elapsed: round1((Date.now() - started) / 1000) },
      drained,
      learnersPerProtocol: learners,
      launches: launcher.stats,
      targets: launcher.targets.size,
      published: publisher.stats,
      faults: { planned: plan.length, injected: injector.injected, windows: injector.windows, errors: injector.errors },
      platformRequests: { lti11: stack.outcomes.requests.length, agsScores: stack.ags.scoreRequests.length, agsTokens: stack.ags.tokenRequests.length },
      readiness: { ...readinessFigures(readiness.samples, injector.windows, 3000), consumerStates: readiness.consumerStates },
      check,
      loadAverage: { before: round1(load), after: round1(loadavg()[0] ?? 0) },
      serviceSettings: soakServiceEnv(backend, !kafkaAsConfigured),
      consumerTimings: kafkaAsConfigured ? 'as configured (session 30 s, rebalance 60 s, heartbeat 3 s, long-poll 500 ms)' : SOAK_KAFKA_TIMINGS
    }
    process.stdout.write(formatSummary(result))
    process.stdout.write(`SOAK_RESULT ${JSON.stringify(result)}\n`)
    return result.ok ? 0 : 1
  } finally {
    await stack.close()
    await db.drop()
  }
}

function round1 (n: number): number {
  return Math.round(n * 10) / 10
}

main().then(code => process.exit(code), err => {
  process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(2)
})
