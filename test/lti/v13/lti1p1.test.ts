import t from 'tap'
import { readFileSync } from 'node:fs'
import { webcrypto } from 'node:crypto'
import { lti1p1SignatureBase, signLti1p1, verifyLti1p1Claim } from '../../../src/lti/v13/lti1p1.js'
import { LtiClaim } from '../../../src/lti/claims.js'
import type { Lti13Launch } from '../../../src/lti/v13/lti13-launch.js'

const vector = JSON.parse(readFileSync(new URL('../../fixtures/lti13/lti1p1-migration-vector.json', import.meta.url), 'utf8')) as {
  consumer_secret: string
  id_token_claims: Record<string, unknown> & { nonce: string, exp: number, iss: string, aud: string }
  base_string: string
}
const claims = vector.id_token_claims
const claim = claims[LtiClaim.lti1p1] as { user_id: string, oauth_consumer_key: string, oauth_consumer_key_sign: string }
const deploymentId = claims[LtiClaim.deploymentId] as string

const launch: Pick<Lti13Launch, 'lti1p1' | 'deploymentId' | 'iss' | 'clientId' | 'expiresAt' | 'nonce'> = {
  lti1p1: { userId: claim.user_id, oauthConsumerKey: claim.oauth_consumer_key, oauthConsumerKeySign: claim.oauth_consumer_key_sign },
  deploymentId,
  iss: claims.iss,
  clientId: claims.aud,
  expiresAt: claims.exp,
  nonce: claims.nonce
}
const fields = { oauthConsumerKey: claim.oauth_consumer_key, deploymentId, iss: claims.iss, clientId: claims.aud, exp: claims.exp, nonce: claims.nonce }

t.test('the published 1EdTech vector', async t => {
  t.equal(lti1p1SignatureBase(fields), vector.base_string)
  t.equal(signLti1p1(fields, vector.consumer_secret), claim.oauth_consumer_key_sign)
  t.same(verifyLti1p1Claim(launch, { key: '179248902', secret: 'my-lti11-secret' }), {
    oauthConsumerKey: '179248902', userId: '34212', resourceLinkId: undefined
  })
})

t.test('an independent computation (WebCrypto HMAC over a hand-built string) agrees on other inputs', async t => {
  const other = { oauthConsumerKey: 'key&with=odd chars', deploymentId: 'd-ü', iss: 'https://canvas.example.test', clientId: '10000000000042', exp: 1893456000, nonce: 'n0nce' }
  const base = `${other.oauthConsumerKey}&${other.deploymentId}&${other.iss}&${other.clientId}&${other.exp}&${other.nonce}`
  const key = await webcrypto.subtle.importKey('raw', new TextEncoder().encode('s3cr3t ü'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const mac = Buffer.from(await webcrypto.subtle.sign('HMAC', key, new TextEncoder().encode(base))).toString('base64')
  t.equal(signLti1p1(other, 's3cr3t ü'), mac)
})

t.test('refusals', async t => {
  const consumer = { key: '179248902', secret: 'my-lti11-secret' }
  t.throws(() => verifyLti1p1Claim(launch, { ...consumer, secret: 'wrong' }), { code: 'LTI13_LTI1P1_BAD_SIGNATURE', status: 401, details: { reason: 'signature' } })
  t.throws(() => verifyLti1p1Claim(launch, { key: 'another-consumer', secret: consumer.secret }), { code: 'LTI13_LTI1P1_BAD_SIGNATURE', details: { reason: 'consumer key' } })
  t.throws(() => verifyLti1p1Claim({ ...launch, expiresAt: launch.expiresAt + 1 }, consumer), { code: 'LTI13_LTI1P1_BAD_SIGNATURE' }, 'exp is covered')
  t.throws(() => verifyLti1p1Claim({ ...launch, nonce: 'other' }, consumer), { code: 'LTI13_LTI1P1_BAD_SIGNATURE' }, 'nonce is covered')
  t.throws(() => verifyLti1p1Claim({ ...launch, deploymentId: '1' }, consumer), { code: 'LTI13_LTI1P1_BAD_SIGNATURE' }, 'deployment is covered')
  t.throws(() => verifyLti1p1Claim({ ...launch, clientId: 'x' }, consumer), { code: 'LTI13_LTI1P1_BAD_SIGNATURE' }, 'client_id is covered')
  t.throws(() => verifyLti1p1Claim({ ...launch, lti1p1: undefined }, consumer), { code: 'LTI13_LTI1P1_CLAIM_INCOMPLETE' })
  t.throws(() => verifyLti1p1Claim({ ...launch, lti1p1: { oauthConsumerKey: consumer.key } }, consumer), { code: 'LTI13_LTI1P1_CLAIM_INCOMPLETE' })
  const truncated = { ...launch, lti1p1: { ...launch.lti1p1, oauthConsumerKeySign: claim.oauth_consumer_key_sign.slice(0, -1) } }
  t.throws(() => verifyLti1p1Claim(truncated, consumer), { code: 'LTI13_LTI1P1_BAD_SIGNATURE' })
})
