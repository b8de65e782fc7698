import t from 'tap'
import { buildTestApp } from '../helpers/build-app.js'

t.test('health, readiness and metrics on the real app', async t => {
  const { app } = await buildTestApp(t)
  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 200)
  t.same(health.json(), { status: 'ok' })

  const ready = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(ready.statusCode, 200)
  t.equal(ready.json().checks.database.ok, true)

  const metrics = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(metrics.statusCode, 200)
  t.match(metrics.body, /lti_provider_http_request_duration_seconds_bucket\{[^}]*route="\/health"/)
  t.match(metrics.body, /^process_cpu_user_seconds_total /m, 'stock Node.js process metrics, no prefix')
})

t.test('readiness fails when the database is gone', async t => {
  const { app, db } = await buildTestApp(t)
  await db.knex.destroy()
  const ready = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(ready.statusCode, 503)
  t.equal(ready.json().checks.database.ok, false)
})

t.test('/ready/http runs only the checks serving HTTP needs', async t => {
  const { app, db } = await buildTestApp(t)
  app.readiness.add('event-consumer', async () => ({ ok: false, detail: 'broker down' }))
  const all = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(all.statusCode, 503, '/ready: the consumer is down')
  const http = await app.inject({ method: 'GET', url: '/ready/http' })
  t.equal(http.statusCode, 200, '/ready/http: launches can still be served')
  t.same(Object.keys(http.json().checks), ['database'])
  await db.knex.destroy()
  const gone = await app.inject({ method: 'GET', url: '/ready/http' })
  t.equal(gone.statusCode, 503, 'without the database, launches cannot be served')
  t.equal(gone.json().checks.database.ok, false)
})

t.test('unknown routes answer a coded 404', async t => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/nope', headers: { accept: 'application/json' } })
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'NOT_FOUND')
  const html = await app.inject({ method: 'GET', url: '/nope', headers: { accept: 'text/html' } })
  t.match(html.headers['content-type'], /text\/html/)
  t.match(html.body, /NOT_FOUND/)
})
