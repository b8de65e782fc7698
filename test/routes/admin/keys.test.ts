import t from 'tap'
import { buildTestApp, adminHeaders } from '../../helpers/build-app.js'

interface Key { kid: string, state: string }

t.test('keys rotate through the admin API and the JWKS lists current and next', async t => {
  const { app } = await buildTestApp(t)
  const jwksKids = async () => {
    const res = await app.inject({ method: 'GET', url: '/lti/1.3/jwks' })
    t.equal(res.statusCode, 200)
    const body = res.json() as { keys: Array<{ kid: string, kty: string, d?: string }> }
    t.ok(body.keys.every(k => k.kty === 'RSA' && k.d === undefined), 'public keys only')
    return body.keys.map(k => k.kid)
  }
  const byState = (keys: Key[], state: string) => keys.filter(k => k.state === state).map(k => k.kid)

  const first = (await app.inject({ method: 'GET', url: '/admin/api/v1/keys', headers: adminHeaders })).json().keys as Key[]
  t.equal(byState(first, 'current').length, 1)
  t.equal(byState(first, 'next').length, 1)
  t.same((await jwksKids()).sort(), [...byState(first, 'current'), ...byState(first, 'next')].sort())

  const rotated = await app.inject({ method: 'POST', url: '/admin/api/v1/keys/rotate', headers: adminHeaders })
  t.equal(rotated.statusCode, 200)
  const after = rotated.json().keys as Key[]
  t.same(byState(after, 'current'), byState(first, 'next'), 'the published next key now signs')
  t.same(byState(after, 'retired'), byState(first, 'current'))
  const freshNext = byState(after, 'next')
  t.equal(freshNext.length, 1)
  t.notOk(first.some(k => k.kid === freshNext[0]), 'a new next key was created')

  const kids = await jwksKids()
  for (const kid of [...byState(after, 'current'), ...freshNext]) t.ok(kids.includes(kid), `JWKS publishes ${kid}`)
  t.ok(kids.includes(byState(first, 'current')[0] as string), 'the just-retired key stays published for its tokens')

  const extra = await app.inject({ method: 'POST', url: '/admin/api/v1/keys/rotate', headers: adminHeaders, payload: { force: true, kid: 'x' } })
  t.equal(extra.statusCode, 400)
  const unauthenticated = await app.inject({ method: 'POST', url: '/admin/api/v1/keys/rotate' })
  t.equal(unauthenticated.statusCode, 401)
  t.same((await app.inject({ method: 'GET', url: '/admin/api/v1/keys', headers: adminHeaders })).json().keys, after, 'refused calls rotate nothing')
})
