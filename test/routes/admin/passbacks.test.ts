import t from 'tap'
import type { Knex } from 'knex'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, adminHeaders } from '../../helpers/build-app.js'

const url = '/admin/api/v1/passbacks'
const HOUR = 3_600_000

/**
 * Nothing writes the outbox yet: rows are inserted directly, with the launch records they hang from
 * (consumer → user → outcome service → graded assignment; registration → profile → graded resource).
 */
async function seed (app: FastifyInstance) {
  const knex: Knex = app.knex
  const at = Date.now() - 2 * HOUR
  const consumer = async (key: string) => (await app.inject({ method: 'POST', url: '/admin/api/v1/lti11/consumers', headers: adminHeaders, payload: { name: key, key, secret: 'secret-' + key + '-0123456789' } })).json().id as number
  const registration = async (clientId: string) => (await app.inject({
    method: 'POST', url: '/admin/api/v1/lti13/registrations', headers: adminHeaders,
    payload: { name: clientId, issuer: 'https://platform.example.edu', clientId, authLoginUrl: 'https://platform.example.edu/auth', authTokenUrl: 'https://platform.example.edu/token', jwksUrl: 'https://platform.example.edu/jwks' }
  })).json().id as number
  const c1 = await consumer('c1')
  const c2 = await consumer('c2')
  const r1 = await registration('r1')

  const assignment = async (consumerId: number, n: number) => {
    const [userId] = await knex('lti_users').insert({ consumer_id: consumerId, lti_user_id: `u${n}`, lms_user_id: 100 + n, lms_username: `learner${n}`, created_at: at, updated_at: at })
    const [serviceId] = await knex('outcome_services').insert({ consumer_id: consumerId, url: `https://lms${n}.example.edu/outcomes`, url_sha256: String(n).padStart(64, '0'), created_at: at })
    const [id] = await knex('graded_assignments').insert({ lti_user_id: userId, outcome_service_id: serviceId, lms_user_id: 100 + n, course_key: 'course-v1:MITx+6.002x+2024', usage_key: `block-v1:MITx+6.002x+2024+type@problem+block@p${n}`, lis_result_sourcedid: `sourcedid-${n}`, created_at: at, updated_at: at })
    return Number(id)
  }
  const resource = async (registrationId: number, n: number) => {
    const [profileId] = await knex('lti_profiles').insert({ registration_id: registrationId, sub: `sub-${n}`, lms_user_id: 200 + n, lms_username: `p${n}`, created_at: at, updated_at: at })
    const [id] = await knex('graded_resources').insert({ profile_id: profileId, deployment_id: '1', lms_user_id: 200 + n, course_key: 'course-v1:HarvardX+CS50+2025', usage_key: `block-v1:HarvardX+CS50+2025+type@problem+block@q${n}`, lineitem_url: `https://platform.example.edu/lineitems/${n}`, scopes: '[]', created_at: at, updated_at: at })
    return Number(id)
  }
  const a1 = await assignment(c1, 1)
  const a2 = await assignment(c1, 2)
  const a3 = await assignment(c2, 3)
  const a4 = await assignment(c1, 4)
  const g1 = await resource(r1, 1)

  const job = async (over: Record<string, unknown>) => {
    const [id] = await knex('passbacks').insert({
      kind: 'lti11', graded_assignment_id: null, graded_resource_id: null, version: 1, method: 'leaf',
      score_given: 0.5, score_maximum: 1, event_time_us: at * 1000, ce_id: null, platform_host: 'lms.example.edu',
      status: 'dead', attempts: 12, last_error: 'HTTP 503 from the outcome service', due_at: at, lease_until: null, lease_owner: null,
      delivered_at: null, created_at: at, updated_at: at, ...over
    })
    return Number(id)
  }
  const ids = {
    deadC1: await job({ graded_assignment_id: a1, target_key: `a:${a1}` }),
    staleC1: await job({ graded_assignment_id: a2, target_key: `a:${a2}`, version: 1 }),
    newerC1: await job({ graded_assignment_id: a2, target_key: `a:${a2}`, version: 2, status: 'delivered', attempts: 1, last_error: null, delivered_at: at + 1000 }),
    failedC1: await job({ graded_assignment_id: a4, target_key: `a:${a4}`, status: 'failed', attempts: 3, lease_until: at + HOUR, lease_owner: 'worker-1' }),
    deadC2: await job({ graded_assignment_id: a3, target_key: `a:${a3}` }),
    deadR1: await job({ kind: 'lti13', graded_resource_id: g1, target_key: `r:${g1}`, last_error: 'AGS 401: invalid_client' }),
    pendingR1: await job({ kind: 'lti13', graded_resource_id: g1, target_key: `r:${g1}`, version: 2, status: 'pending', attempts: 0, last_error: null }),
    superseded: await job({ graded_resource_id: g1, kind: 'lti13', target_key: `r:${g1}`, version: 0, status: 'superseded' })
  }
  return { c1, c2, r1, ids, at }
}

const rows = async (app: FastifyInstance) => await app.knex('passbacks').select('*').orderBy('id')

t.test('list jobs with their last error, filtered and paged', async t => {
  const { app } = await buildTestApp(t)
  const { c1, c2, r1, ids } = await seed(app)

  const all = await app.inject({ method: 'GET', url, headers: adminHeaders })
  t.equal(all.statusCode, 200)
  const list = all.json()
  t.same(list.passbacks.map((p: { id: number }) => p.id), Object.values(ids).sort((a, b) => b - a), 'newest first')
  t.equal(list.nextBefore, null)
  const deadR1 = list.passbacks.find((p: { id: number }) => p.id === ids.deadR1)
  t.match(deadR1, { kind: 'lti13', status: 'dead', attempts: 12, lastError: 'AGS 401: invalid_client', registrationId: r1, consumerId: null, courseKey: 'course-v1:HarvardX+CS50+2025', usageKey: 'block-v1:HarvardX+CS50+2025+type@problem+block@q1', scoreGiven: 0.5, scoreMaximum: 1, deliveredAt: null })
  t.match(deadR1.dueAt, /Z$/)

  const dead = (await app.inject({ method: 'GET', url: `${url}?status=dead`, headers: adminHeaders })).json()
  t.same(dead.passbacks.map((p: { id: number }) => p.id).sort(), [ids.deadC1, ids.staleC1, ids.deadC2, ids.deadR1].sort())
  const ofC1 = (await app.inject({ method: 'GET', url: `${url}?consumerId=${c1}`, headers: adminHeaders })).json()
  t.same(ofC1.passbacks.map((p: { id: number }) => p.id).sort(), [ids.deadC1, ids.staleC1, ids.newerC1, ids.failedC1].sort())
  t.ok(ofC1.passbacks.every((p: { consumerId: number }) => p.consumerId === c1))
  const deadOfC2 = (await app.inject({ method: 'GET', url: `${url}?status=dead&consumerId=${c2}`, headers: adminHeaders })).json()
  t.same(deadOfC2.passbacks.map((p: { id: number }) => p.id), [ids.deadC2])
  const ofR1 = (await app.inject({ method: 'GET', url: `${url}?registrationId=${r1}`, headers: adminHeaders })).json()
  t.same(ofR1.passbacks.map((p: { id: number }) => p.id), [ids.superseded, ids.pendingR1, ids.deadR1])

  // Paging: limit + before cursor walks every job exactly once.
  const seen: number[] = []
  let before: number | null = null
  let pages = 0
  do {
    const page: { passbacks: Array<{ id: number }>, nextBefore: number | null } = (await app.inject({ method: 'GET', url: `${url}?limit=3${before ? `&before=${before}` : ''}`, headers: adminHeaders })).json()
    t.ok(page.passbacks.length <= 3)
    seen.push(...page.passbacks.map((p: { id: number }) => p.id))
    before = page.nextBefore
    pages++
  } while (before !== null && pages < 10)
  t.equal(pages, 3)
  t.same(seen, Object.values(ids).sort((a, b) => b - a))

  for (const query of ['status=lost', 'limit=0', 'limit=abc', 'limit=501', 'before=-1', 'consumerId=x', 'sort=id']) {
    const res = await app.inject({ method: 'GET', url: `${url}?${query}`, headers: adminHeaders })
    t.equal(res.statusCode, 400, query)
    t.ok(res.json().details.fields.length > 0)
  }
  const one = await app.inject({ method: 'GET', url: `${url}/${ids.deadC1}`, headers: adminHeaders })
  t.match(one.json(), { id: ids.deadC1, consumerId: c1, status: 'dead' })
  t.equal((await app.inject({ method: 'GET', url: `${url}/999999`, headers: adminHeaders })).statusCode, 404)
})

t.test('retry one job: failed or dead → pending now, attempts kept; other states 409', async t => {
  const { app } = await buildTestApp(t)
  const { ids } = await seed(app)

  const started = Date.now()
  const dead = await app.inject({ method: 'POST', url: `${url}/${ids.deadC1}/retry`, headers: adminHeaders })
  t.equal(dead.statusCode, 200)
  t.match(dead.json(), { id: ids.deadC1, status: 'pending', attempts: 12, lastError: 'HTTP 503 from the outcome service' })
  const deadRow = await app.knex('passbacks').where({ id: ids.deadC1 }).first()
  t.ok(Number(deadRow.due_at) >= started && Number(deadRow.due_at) <= Date.now(), 'due now')
  t.equal(deadRow.lease_until, null)

  const failed = await app.inject({ method: 'POST', url: `${url}/${ids.failedC1}/retry`, headers: adminHeaders, payload: {} })
  t.equal(failed.statusCode, 200)
  t.match(failed.json(), { status: 'pending', attempts: 3 })
  const failedRow = await app.knex('passbacks').where({ id: ids.failedC1 }).first()
  t.equal(failedRow.lease_owner, null, 'an old lease does not hold the job back')

  const before = await rows(app)
  for (const [id, status] of [[ids.newerC1, 'delivered'], [ids.pendingR1, 'pending'], [ids.superseded, 'superseded'], [ids.deadC1, 'pending']] as const) {
    const res = await app.inject({ method: 'POST', url: `${url}/${id}/retry`, headers: adminHeaders })
    t.equal(res.statusCode, 409, `${status} is not retryable`)
    t.match(res.json(), { code: 'ADMIN_PASSBACK_NOT_RETRYABLE', details: { status } })
  }
  const stale = await app.inject({ method: 'POST', url: `${url}/${ids.staleC1}/retry`, headers: adminHeaders })
  t.equal(stale.statusCode, 409, 'a newer version exists for the target')
  t.equal(stale.json().code, 'ADMIN_PASSBACK_STALE')
  t.equal((await app.inject({ method: 'POST', url: `${url}/999999/retry`, headers: adminHeaders })).statusCode, 404)
  const withBody = await app.inject({ method: 'POST', url: `${url}/${ids.deadC2}/retry`, headers: adminHeaders, payload: { force: true } })
  t.equal(withBody.statusCode, 400)
  t.same(await rows(app), before, 'refused retries change nothing')
})

t.test('bulk retry of dead jobs, for one consumer, one registration or all', async t => {
  const { app } = await buildTestApp(t)
  const { c1, r1, ids } = await seed(app)
  const status = async (id: number) => (await app.knex('passbacks').where({ id }).first()).status

  const before = await rows(app)
  for (const [payload, code, statusCode] of [
    [{ consumerId: c1, registrationId: r1 }, 'ADMIN_INVALID_FIELDS', 400],
    [{ consumerId: 99999 }, 'ADMIN_NOT_FOUND', 404],
    [{ registrationId: 99999 }, 'ADMIN_NOT_FOUND', 404],
    [{ status: 'delivered' }, 'VALIDATION_FAILED', 400],
    [{ consumerId: '1' }, 'VALIDATION_FAILED', 400],
    [{ everything: true }, 'VALIDATION_FAILED', 400]
  ] as const) {
    const res = await app.inject({ method: 'POST', url: `${url}/retry`, headers: adminHeaders, payload })
    t.equal(res.statusCode, statusCode, JSON.stringify(payload))
    t.equal(res.json().code, code)
  }
  t.same(await rows(app), before)

  const c1Dead = await app.inject({ method: 'POST', url: `${url}/retry`, headers: adminHeaders, payload: { status: 'dead', consumerId: c1 } })
  t.equal(c1Dead.statusCode, 200)
  t.same(c1Dead.json(), { retried: 1, skippedStale: 1 })
  t.equal(await status(ids.deadC1), 'pending')
  t.equal(await status(ids.staleC1), 'dead', 'the stale job stays dead')
  t.equal(await status(ids.failedC1), 'failed', 'only the asked status')
  t.equal(await status(ids.deadC2), 'dead', 'other consumers untouched')
  t.equal(await status(ids.deadR1), 'dead', 'registrations untouched')

  const r1Dead = await app.inject({ method: 'POST', url: `${url}/retry`, headers: adminHeaders, payload: { registrationId: r1 } })
  t.same(r1Dead.json(), { retried: 0, skippedStale: 1 }, 'the dead r1 job is older than its pending version 2')
  t.equal(await status(ids.deadR1), 'dead')

  const failedAll = await app.inject({ method: 'POST', url: `${url}/retry`, headers: adminHeaders, payload: { status: 'failed' } })
  t.same(failedAll.json(), { retried: 1, skippedStale: 0 })
  t.equal(await status(ids.failedC1), 'pending')

  const rest = await app.inject({ method: 'POST', url: `${url}/retry`, headers: adminHeaders, payload: {} })
  t.same(rest.json(), { retried: 1, skippedStale: 2 })
  t.equal(await status(ids.deadC2), 'pending')
  const row = await app.knex('passbacks').where({ id: ids.deadC2 }).first()
  t.equal(Number(row.attempts), 12)
})
