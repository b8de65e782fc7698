import t from 'tap'
import { authenticateLti11Launch, nonceExpiresAt, type Lti11NonceRecord } from '../../../src/lti/v11/launch-auth.js'
import { signLti11Request } from '../../../src/lti/v11/oauth-sign.js'

const NOW = new Date('2026-11-23T12:00:00Z')
const PUBLIC_URL = 'https://tool.example.org'
const PATH = '/lti_provider/courses/course-v1:Org+C1+R1/block-v1:Org+C1+R1+type@problem+block@p1'
const form: Array<[string, string]> = [
  ['lti_message_type', 'basic-lti-launch-request'], ['lti_version', 'LTI-1p0'], ['resource_link_id', 'rl-1'],
  ['user_id', 'u-1'], ['roles', 'Learner'], ['context_id', 'ctx'], ['tool_consumer_instance_guid', 'lms.example.edu']
]

interface Consumer { id: number, secret: string, signatureMethods?: string[], timestampWindowSeconds?: number }

function setup (consumers: Record<string, Consumer>) {
  const lookups: string[] = []
  const recorded: Array<Lti11NonceRecord & { consumerId: number }> = []
  const seen = new Set<string>()
  const deps = {
    publicUrl: PUBLIC_URL,
    now: () => NOW,
    findConsumer: async (key: string) => { lookups.push(key); return consumers[key] },
    // Stands in for the unique-key insert: JavaScript runs this synchronously, so it is atomic here.
    recordNonce: async (consumer: Consumer, record: Lti11NonceRecord) => {
      const id = `${consumer.id}:${record.nonce}`
      if (seen.has(id)) return false
      seen.add(id)
      recorded.push({ ...record, consumerId: consumer.id })
      return true
    }
  }
  return { deps, lookups, recorded }
}

const sign = (overrides: Partial<Parameters<typeof signLti11Request>[0]> = {}) =>
  signLti11Request({ url: PUBLIC_URL + PATH, consumerKey: 'key-1', consumerSecret: 'secret-1', formParams: form, now: NOW, callback: 'about:blank', ...overrides })

t.test('lookup → verify → launch → nonce, and a replay is refused', async t => {
  const { deps, lookups, recorded } = setup({ 'key-1': { id: 7, secret: 'secret-1' } })
  const signed = sign({ nonce: 'n-1' })
  const request = { method: 'POST', rawPath: PATH, body: signed.formParams }
  const result = await authenticateLti11Launch(request, deps)
  t.equal(result.consumer.id, 7)
  t.equal(result.launch.toolConsumerInstanceGuid, 'lms.example.edu')
  t.equal(result.verified.nonce, 'n-1')
  t.same(lookups, ['key-1'])
  t.same(recorded, [{ consumerId: 7, consumerKey: 'key-1', nonce: 'n-1', timestamp: NOW.getTime() / 1000, expiresAt: new Date(NOW.getTime() + 600_000) }])
  await t.rejects(authenticateLti11Launch(request, deps), { code: 'LTI11_NONCE_REPLAYED', status: 401 })
})

t.test('an unknown key stops before verification and writes nothing', async t => {
  const { deps, recorded } = setup({})
  await t.rejects(authenticateLti11Launch({ method: 'POST', rawPath: PATH, body: sign().formParams }, deps), { code: 'LTI11_UNKNOWN_CONSUMER', status: 401 })
  t.same(recorded, [])
})

t.test('a bad signature, a stale clock or a bad launch write nothing', async t => {
  const { deps, recorded } = setup({ 'key-1': { id: 7, secret: 'secret-1', timestampWindowSeconds: 60 } })
  await t.rejects(authenticateLti11Launch({ method: 'POST', rawPath: PATH, body: sign({ consumerSecret: 'other' }).formParams }, deps), { code: 'LTI11_BAD_SIGNATURE' })
  await t.rejects(authenticateLti11Launch({ method: 'POST', rawPath: PATH, body: sign({ timestamp: NOW.getTime() / 1000 - 61 }).formParams }, deps), { code: 'LTI11_STALE_TIMESTAMP', details: { windowSeconds: 60 } })
  const noUser = sign({ formParams: form.filter(([n]) => n !== 'user_id') })
  await t.rejects(authenticateLti11Launch({ method: 'POST', rawPath: PATH, body: noUser.formParams }, deps), { code: 'LTI11_MISSING_PARAM', details: { name: 'user_id' } })
  await t.rejects(authenticateLti11Launch({ method: 'POST', rawPath: PATH, body: sign({ signatureMethod: 'HMAC-SHA256' }).formParams }, deps), { code: 'LTI11_SIGNATURE_METHOD_NOT_ALLOWED' })
  t.same(recorded, [])
})

t.test('per-consumer signature methods', async t => {
  const { deps } = setup({ 'key-1': { id: 7, secret: 'secret-1', signatureMethods: ['HMAC-SHA256'] } })
  const result = await authenticateLti11Launch({ method: 'POST', rawPath: PATH, body: sign({ signatureMethod: 'HMAC-SHA256' }).formParams }, deps)
  t.equal(result.verified.signatureMethod, 'HMAC-SHA256')
})

t.test('nonce expiry: twice the window past the later of timestamp and now', async t => {
  t.same(nonceExpiresAt(1000, new Date(1_000_000), 300), new Date(1_600_000))
  t.same(nonceExpiresAt(1200, new Date(1_000_000), 300), new Date(1_800_000), 'a timestamp from the future extends it')
})
