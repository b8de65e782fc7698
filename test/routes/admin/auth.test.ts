import t from 'tap'
import { buildTestApp, adminHeaders, TEST_ADMIN_TOKEN } from '../../helpers/build-app.js'

const url = '/admin/api/v1/lti11/consumers'

t.test('the admin token guards every admin route', async t => {
  const { app } = await buildTestApp(t)

  const ok = await app.inject({ method: 'GET', url, headers: adminHeaders })
  t.equal(ok.statusCode, 200)

  const routes: Array<[string, string]> = [
    ['GET', url], ['POST', url], ['GET', `${url}/1`], ['PATCH', `${url}/1`], ['DELETE', `${url}/1`],
    ['GET', '/admin/api/v1/lti13/registrations'], ['POST', '/admin/api/v1/lti13/registrations'],
    ['POST', '/admin/api/v1/lti13/registrations/1/deployments'], ['DELETE', '/admin/api/v1/lti13/registrations/1/deployments/d'],
    ['GET', '/admin/api/v1/passbacks'], ['POST', '/admin/api/v1/passbacks/1/retry'], ['POST', '/admin/api/v1/passbacks/retry'],
    ['GET', '/admin/api/v1/keys']
  ]
  for (const [method, path] of routes) {
    const missing = await app.inject({ method: method as 'GET', url: path })
    t.equal(missing.statusCode, 401, `${method} ${path} without a token`)
    t.equal(missing.json().code, 'ADMIN_TOKEN_MISSING')
  }

  const wrongSameLength = TEST_ADMIN_TOKEN.slice(0, -1) + (TEST_ADMIN_TOKEN.endsWith('x') ? 'y' : 'x')
  t.equal(wrongSameLength.length, TEST_ADMIN_TOKEN.length)
  const cases: Array<[string, number, string]> = [
    [`Bearer ${wrongSameLength}`, 403, 'ADMIN_TOKEN_INVALID'],
    ['Bearer short', 403, 'ADMIN_TOKEN_INVALID'],
    [`Bearer ${TEST_ADMIN_TOKEN}extra`, 403, 'ADMIN_TOKEN_INVALID'],
    [`Basic ${Buffer.from('admin:' + TEST_ADMIN_TOKEN).toString('base64')}`, 401, 'ADMIN_TOKEN_MISSING'],
    [TEST_ADMIN_TOKEN, 401, 'ADMIN_TOKEN_MISSING'],
    ['Bearer ', 401, 'ADMIN_TOKEN_MISSING']
  ]
  for (const [authorization, status, code] of cases) {
    const res = await app.inject({ method: 'GET', url, headers: { authorization } })
    t.equal(res.statusCode, status, `${authorization.slice(0, 12)}… → ${status}`)
    t.equal(res.json().code, code)
    t.notMatch(res.body, TEST_ADMIN_TOKEN)
  }

  // Nothing was created by the refused POSTs.
  t.same((await app.inject({ method: 'GET', url, headers: adminHeaders })).json(), { consumers: [] })
})

t.test('without ADMIN_TOKEN the admin API does not exist', async t => {
  const { app } = await buildTestApp(t, { ADMIN_TOKEN: '' })
  const res = await app.inject({ method: 'GET', url, headers: adminHeaders })
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'NOT_FOUND')
})
