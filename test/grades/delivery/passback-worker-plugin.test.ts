import t from 'tap'
import type { FastifyInstance } from 'fastify'
import type { AppFeatures } from '../../../src/compose/features.js'
import { buildServer } from '../../../src/server.js'
import { testConfig } from '../../helpers/build-app.js'
import { createTestDb } from '../../helpers/db.js'
import { seedAgsTarget, startFakeAgsPlatform } from '../../support/fake-ags-platform.js'
import { queuePassback, seedLti11Target, startFakeLti11OutcomeService } from '../../support/fake-lti11-outcome-service.js'

interface Teardown { teardown (fn: () => unknown): void }

/** The app with the worker switched on (unless `features` says otherwise): it shares the app's outbound client; the JWKS route serves the AGS platform. */
async function appWithWorker (t: Teardown, env: Record<string, string> = {}, features: AppFeatures = {}): Promise<FastifyInstance> {
  const db = await createTestDb(t)
  const config = testConfig({ DATABASE_URL: db.url, PASSBACK_POLL_INTERVAL_MS: '20', ...env })
  const app = await buildServer(config, { knex: db.knex, features: { worker: true, ...features } })
  await app.ready()
  t.teardown(() => app.close())
  return app
}

async function settled (app: FastifyInstance, ids: number[], timeoutMs = 10_000): Promise<Array<Record<string, unknown>>> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const rows = await app.knex('passbacks').whereIn('id', ids).select('*') as Array<Record<string, unknown>>
    if (rows.every(r => r.status !== 'pending' && r.status !== 'delivering')) return rows
    if (Date.now() > until) throw new Error('jobs not settled: ' + JSON.stringify(rows.map(r => r.status)))
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

t.test('the plugin delivers LTI 1.1 and LTI 1.3 grades once the app is ready, and serves the metrics', async t => {
  const app = await appWithWorker(t)
  const outcome = await startFakeLti11OutcomeService({ consumers: { 'key-1': 'secret-1' } })
  t.teardown(() => outcome.close())
  const platform = await startFakeAgsPlatform({ clientId: 'client-e2e', toolJwks: async () => (await app.inject({ url: '/lti/1.3/jwks' })).json() })
  t.teardown(() => platform.close())

  const a = await seedLti11Target(app.knex, app.secretBox, { consumerKey: 'key-1', secret: 'secret-1', outcomeUrl: outcome.outcomeUrl(), outcomeHosts: ['127.0.0.1'] })
  const r = await seedAgsTarget(app.knex, platform, { lineitemUrl: platform.lineitemUrl(11), sub: 'sub-e2e' })
  const ids = [
    await queuePassback(app.knex, { targetKey: a.targetKey, gradedAssignmentId: a.assignmentId, scoreGiven: 1, scoreMaximum: 4 }),
    await queuePassback(app.knex, { kind: 'lti13', targetKey: r.targetKey, gradedResourceId: r.resourceId, scoreGiven: 1, scoreMaximum: 4 })
  ]
  app.passbackWorker.kick()
  const rows = await settled(app, ids)
  t.same(rows.map(row => row.status), ['delivered', 'delivered'])
  t.same(outcome.ledger.map(l => l.score), ['0.25'])
  t.match(platform.scores, [{ userId: 'sub-e2e', scoreGiven: 1, scoreMaximum: 4 }])

  await app.passbackWorker.idle()
  const metrics = await app.metrics.metrics()
  t.match(metrics, /lti_provider_passback_deliveries_total\{result="delivered",platform_host="127\.0\.0\.1"\} 2/)
  t.match(metrics, /lti_provider_passback_queue_depth\{status="delivered"\} 2/)
  t.match(metrics, /^lti_provider_passback_oldest_due_age_seconds 0$/m)
})

t.test('OUTBOUND_ALLOW_LOOPBACK_HTTP=false (production behaviour): a loopback outcome URL is refused, not called', async t => {
  const app = await appWithWorker(t, { OUTBOUND_ALLOW_LOOPBACK_HTTP: 'false' })
  const outcome = await startFakeLti11OutcomeService({ consumers: { 'key-1': 'secret-1' } })
  t.teardown(() => outcome.close())
  const a = await seedLti11Target(app.knex, app.secretBox, { consumerKey: 'key-1', secret: 'secret-1', outcomeUrl: outcome.outcomeUrl() })
  const id = await queuePassback(app.knex, { targetKey: a.targetKey, gradedAssignmentId: a.assignmentId })
  app.passbackWorker.kick()
  const [row] = await settled(app, [id])
  t.match(row, { status: 'dead', last_error: /^HTTP_OUT_SCHEME_NOT_ALLOWED/ })
  t.equal(outcome.requests.length, 0)
})

t.test('worker: false builds the worker but never starts it; close stops a started one', async t => {
  const off = await appWithWorker(t, {}, { worker: false })
  const id = await queuePassback(off.knex, { targetKey: 'a:1' })
  off.passbackWorker.kick()
  await new Promise(resolve => setTimeout(resolve, 150))
  t.match(await off.knex('passbacks').where({ id }).first(), { status: 'pending', attempts: 0 })

  const on = await appWithWorker(t)
  await on.close()
  const later = await queuePassback(on.knex, { targetKey: 'a:2' })
  on.passbackWorker.kick()
  await new Promise(resolve => setTimeout(resolve, 150))
  t.match(await on.knex('passbacks').where({ id: later }).first(), { status: 'pending' }, 'a closed app sends nothing')
})
