import t from 'tap'
import { compactVerify, createLocalJWKSet, calculateJwkThumbprint, CompactSign } from 'jose'
import { createSecretBox } from '../../src/crypto/secret-box.js'
import { createToolKeys, RETIRED_PUBLISH_MS } from '../../src/keys/tool-keys.js'
import { createTestDb } from '../helpers/db.js'

const secretBox = createSecretBox('k'.repeat(40))

t.test('first boot creates current and next; JWKS lists both with thumbprint kids', async t => {
  const { knex } = await createTestDb(t)
  const keys = createToolKeys({ knex, secretBox, graceSeconds: 0 })
  await keys.ensure()
  await keys.ensure() // idempotent
  const list = await keys.list()
  t.same(list.map(k => k.state).sort(), ['current', 'next'])
  const jwks = await keys.jwks()
  t.equal(jwks.keys.length, 2)
  for (const jwk of jwks.keys) {
    t.equal(jwk.kid, await calculateJwkThumbprint({ kty: jwk.kty!, n: jwk.n!, e: jwk.e! }, 'sha256'))
    t.equal(jwk.alg, 'RS256')
    t.notOk('d' in jwk, 'no private part published')
  }
  const rows = await knex('tool_keys').select('private_key_enc')
  for (const r of rows) t.notMatch(r.private_key_enc, /PRIVATE KEY/, 'private keys encrypted at rest')
})

t.test('the signing key verifies against the published JWKS', async t => {
  const { knex } = await createTestDb(t)
  const keys = createToolKeys({ knex, secretBox, graceSeconds: 0 })
  await keys.ensure()
  const sk = await keys.signingKey()
  const jws = await new CompactSign(new TextEncoder().encode('hello')).setProtectedHeader({ alg: 'RS256', kid: sk.kid }).sign(sk.key)
  const { payload } = await compactVerify(jws, createLocalJWKSet(await keys.jwks()))
  t.equal(new TextDecoder().decode(payload), 'hello')
})

t.test('rotation: next becomes current, a new next is published, the old one retires', async t => {
  const { knex } = await createTestDb(t)
  let clock = 1_000_000
  const keys = createToolKeys({ knex, secretBox, graceSeconds: 3600, now: () => clock })
  await keys.ensure()
  const before = await keys.list()
  const oldCurrent = before.find(k => k.state === 'current')!.kid
  const oldNext = before.find(k => k.state === 'next')!.kid

  await t.rejects(keys.rotate(), { code: 'KEY_NEXT_TOO_YOUNG' }, 'next key not published long enough')
  clock += 3600 * 1000
  const after = await keys.rotate()
  t.equal(after.find(k => k.state === 'current')!.kid, oldNext, 'the published next key signs now')
  t.equal(after.find(k => k.kid === oldCurrent)!.state, 'retired')
  const newNext = after.find(k => k.state === 'next')!
  t.not(newNext.kid, oldNext)
  t.equal((await keys.signingKey()).kid, oldNext)

  const kids = (await keys.jwks()).keys.map(k => k.kid)
  t.ok(kids.includes(oldCurrent), 'retired key still published for the token lifetime')
  t.ok(kids.includes(newNext.kid))
  clock += RETIRED_PUBLISH_MS + 10_000
  const later = (await keys.jwks()).keys.map(k => k.kid)
  t.notOk(later.includes(oldCurrent), 'retired key dropped after an hour')
  t.equal(later.length, 2)
})

t.test('the database allows one current and one next only', async t => {
  const { knex } = await createTestDb(t)
  const keys = createToolKeys({ knex, secretBox, graceSeconds: 0 })
  await keys.ensure()
  const row = await knex('tool_keys').where({ slot: 'current' }).first()
  await t.rejects(knex('tool_keys').insert({ ...row, id: undefined, kid: 'other', slot: 'current' }))
})
