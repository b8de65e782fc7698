/**
 * Grade delivery from the outbox to loopback platforms: deliveries/s for LTI 1.1 Basic Outcomes
 * (replaceResult, OAuth 1.0a body-hash signed) and for LTI 1.3 AGS (client-credentials token, then
 * one score POST per job), each side by side with a bare client posting the same kind of request
 * to the same fake platform with the same concurrency (the platform's and the loop's ceiling).
 *
 *   node --import tsx bench/grade-delivery.ts [--jobs 2000] [--profile dir] [--out file]
 *
 * The service runs with its real outbox worker (PASSBACK_CONCURRENCY_PER_HOST as configured,
 * default 4 per platform host); `--jobs` leaf jobs for as many learners are queued before the
 * worker starts, and the clock runs until the fake gradebook has accepted the last one.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { loadConfig } from '../src/config.js'
import { buildServer } from '../src/server.js'
import { buildClientAssertion } from '../src/lti/v13/client-assertion.js'
import { buildReplaceResultRequest, POX_CONTENT_TYPE } from '../src/lti/v11/outcomes.js'
import { signLti11Request } from '../src/lti/v11/oauth-sign.js'
import { seedAgsTarget, startFakeAgsPlatform } from '../test/support/fake-ags-platform.js'
import { queuePassback, seedLti11Target, startFakeLti11OutcomeService } from '../test/support/fake-lti11-outcome-service.js'
import { numberArg, parseArgs } from './support/args.js'
import { openBenchDb } from './support/bench-db.js'
import { createWindowProfiler } from './support/profiler.js'
import { emitResult, ratio, round, startPart, type Figure } from './support/result.js'

const args = parseArgs()
const jobs = numberArg(args, 'jobs', 2000)
const profiler = createWindowProfiler('grade-delivery', args.get('profile'))
const SCORE_SCOPE = 'https://purl.imsglobal.org/spec/lti-ags/scope/score'
const SCORE_MEDIA_TYPE = 'application/vnd.ims.lis.v1.score+json'

/** Waits until `count()` reaches `target`; returns the seconds it took from `since`. */
async function until (what: string, count: () => number, target: number, since: number, limitMs = 120_000): Promise<number> {
  while (count() < target) {
    if (performance.now() - since > limitMs) throw new Error(`${what}: ${count()} of ${target} after ${limitMs} ms`)
    await sleep(5)
  }
  return (performance.now() - since) / 1000
}

/** Requests per second of `op` with `width` in flight, for about `ms`. */
async function rate (ms: number, width: number, op: (i: number) => Promise<void>): Promise<number> {
  const started = performance.now()
  const end = started + ms
  let done = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (performance.now() < end) await op(done++)
  }))
  return done / ((performance.now() - started) / 1000)
}

async function main (): Promise<void> {
  const part = startPart('grade-delivery', 'Grade delivery to loopback platforms', `node --import tsx bench/grade-delivery.ts --jobs ${jobs}`)
  const db = await openBenchDb('sqlite')
  const config = loadConfig({
    NODE_ENV: 'test', LOG_LEVEL: 'warn', DATABASE_URL: db.url, OUTBOUND_ALLOW_LOOPBACK_HTTP: 'true', KEY_ROTATION_GRACE_SECONDS: '0'
  }, { envFile: false })
  const perHost = config.PASSBACK_CONCURRENCY_PER_HOST
  const app: FastifyInstance = await buildServer(config)
  const outcomes = await startFakeLti11OutcomeService({ consumers: { 'bench-key': 'bench-secret' } })
  const ags = await startFakeAgsPlatform({ clientId: 'bench-client', toolJwks: async () => await app.toolKeys.jwks() as never })
  try {
    // LTI 1.1: one consumer, `jobs` learners each with a graded launch and one leaf job.
    const outcomeUrl = outcomes.outcomeUrl()
    const host = new URL(outcomeUrl).host
    let consumerId: number | undefined
    for (let i = 0; i < jobs; i++) {
      const target = await seedLti11Target(app.knex, app.secretBox, { consumerKey: 'bench-key', secret: 'bench-secret', outcomeUrl, outcomeHosts: ['127.0.0.1'], consumerId, anonUserId: `learner-${i}` })
      consumerId = target.consumerId
      await queuePassback(app.knex, { targetKey: target.targetKey, gradedAssignmentId: target.assignmentId, platformHost: host, scoreGiven: i % 11, scoreMaximum: 10 })
    }
    // The worker starts with the app: the clock starts here.
    const lti11Started = performance.now()
    const lti11Seconds = await profiler.run('lti11', async () => {
      await app.ready()
      return await until('LTI 1.1 deliveries', () => outcomes.ledger.length, jobs, lti11Started)
    })

    // AGS: one registration, `jobs` learners each with a graded resource and one leaf job.
    let registrationId: number | undefined
    const agsJobs: Array<{ targetKey: string, resourceId: number }> = []
    for (let i = 0; i < jobs; i++) {
      const target = await seedAgsTarget(app.knex, ags, { lineitemUrl: ags.lineitemUrl(i + 1), sub: `sub-${i}`, registrationId })
      registrationId = target.registrationId
      agsJobs.push(target)
    }
    const agsHost = new URL(ags.tokenUrl).host
    for (const [i, t] of agsJobs.entries()) {
      await queuePassback(app.knex, { kind: 'lti13', targetKey: t.targetKey, gradedResourceId: t.resourceId, platformHost: agsHost, scoreGiven: i % 11, scoreMaximum: 10 })
    }
    const agsStarted = performance.now()
    const agsSeconds = await profiler.run('ags', async () => {
      app.passbackWorker.kick()
      return await until('AGS deliveries', () => ags.scores.length, jobs, agsStarted)
    })
    const states = await app.knex('passbacks').select('status').count({ n: '*' }).groupBy('status') as Array<{ status: string, n: number }>

    // Bare clients, same concurrency per host, same fakes: one signed replaceResult (the fake does
    // not track nonces), and AGS score posts with a token obtained the way the tool obtains one.
    const xml = buildReplaceResultRequest({ messageIdentifier: 'bench', sourcedId: 'bare-sourcedid', score: 0.5 })
    const signed = signLti11Request({ url: outcomeUrl, consumerKey: 'bench-key', consumerSecret: 'bench-secret', body: xml })
    const bareLti11 = await rate(2500, perHost, async () => {
      const res = await fetch(outcomeUrl, { method: 'POST', body: xml, headers: { 'content-type': POX_CONTENT_TYPE, authorization: signed.authorizationHeader } })
      if (!(await res.text()).includes('success')) throw new Error('bare replaceResult refused')
    })
    const key = await app.toolKeys.signingKey()
    const assertion = await buildClientAssertion({ clientId: ags.clientId, audience: ags.tokenUrl, privateKey: key.key, kid: key.kid })
    const tokenRes = await fetch(ags.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion, scope: SCORE_SCOPE })
    })
    const accessToken = ((await tokenRes.json()) as { access_token: string }).access_token
    const bareAgs = await rate(2500, perHost, async i => {
      const res = await fetch(ags.lineitemUrl('bare') + '/scores', {
        method: 'POST',
        headers: { 'content-type': SCORE_MEDIA_TYPE, authorization: `Bearer ${accessToken}` },
        body: JSON.stringify({ userId: `bare-${i}-${randomBytes(4).toString('hex')}`, scoreGiven: 5, scoreMaximum: 10, timestamp: new Date().toISOString(), activityProgress: 'Completed', gradingProgress: 'FullyGraded' })
      })
      await res.arrayBuffer()
      if (res.status !== 201) throw new Error(`bare AGS score refused: ${res.status}`)
    })

    const lti11Rate = jobs / lti11Seconds
    const agsRate = jobs / agsSeconds
    const figures: Figure[] = [
      {
        name: `LTI 1.1 replaceResult deliveries (${jobs} jobs, ${perHost} per host)`,
        value: Math.round(lti11Rate),
        unit: 'deliveries/s',
        limit: { name: `bare signed POST to the same fake, ${perHost} in flight`, value: Math.round(bareLti11), unit: 'req/s' },
        ratio: ratio(lti11Rate, bareLti11)
      },
      {
        name: `LTI 1.3 AGS score deliveries (${jobs} jobs, ${perHost} per host)`,
        value: Math.round(agsRate),
        unit: 'deliveries/s',
        extra: `${ags.tokenRequests.length} token requests`,
        limit: { name: `bare score POST to the same fake, ${perHost} in flight`, value: Math.round(bareAgs), unit: 'req/s' },
        ratio: ratio(agsRate, bareAgs)
      }
    ]
    emitResult(part.finish(figures, {
      perHostConcurrency: perHost,
      lti11: { seconds: round(lti11Seconds, 2), perSecond: round(lti11Rate), bare: round(bareLti11) },
      ags: { seconds: round(agsSeconds, 2), perSecond: round(agsRate), bare: round(bareAgs), tokenRequests: ags.tokenRequests.length },
      jobStates: Object.fromEntries(states.map(s => [s.status, Number(s.n)]))
    }), args.get('out'))
  } finally {
    await app.close()
    await outcomes.close()
    await ags.close()
    await db.drop()
  }
}

main().catch(err => { console.error(err); process.exit(1) })
