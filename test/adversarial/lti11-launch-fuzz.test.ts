/**
 * Property-based hostile input against the real LTI 1.1 launch route (POST
 * /lti_provider/courses/:courseId/:usageId, the path edx-platform uses; there is no /lti/1.1/launch):
 * random and duplicated parameters, invalid UTF-8, huge and control-character values, wrong content
 * types, bodies mutated after signing, and well-signed launches carrying hostile values. Every
 * answer is checked: never a 5xx, no stack or internal text, no secret, no CR/LF in any header,
 * the exact stable code for each refusal, and nothing stored by a refusal.
 *
 * The fixed cases (bad signature, stale timestamp, unknown consumer, replay…) live in
 * test/launch/lti11/launch.test.ts; these are their property versions.
 */
import t from 'tap'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { startFakeLms, DEMO_COURSE_ID, usageKey } from '../support/fake-lms.js'
import { buildTestApp, TEST_ADMIN_TOKEN } from '../helpers/build-app.js'
import { signLaunchWithImsLti } from '../helpers/ims-lti-signer.js'
import { createLti11ConsumersRepository } from '../../src/db/repositories/lti11-consumers-repository.js'
import { CONSUMER_SECRET_CONTEXT } from '../../src/launch/lti11/launch.js'
import { HOSTILE_STRINGS, countRows, countsChanged, createTally, notRefusal, refusalCode, unsafeAnswer, type InjectAnswer } from '../support/hostile-input.js'

const PUBLIC_URL = 'https://tool.example.org'
const PROBLEM = usageKey(DEMO_COURSE_ID, 'problem', 'p1')
const PATH = `/lti_provider/courses/${DEMO_COURSE_ID}/${PROBLEM}`
const KEY = 'canvas'
const SECRET = 'canvas-secret-3f9a1c7e5b'
const RELAY = { key: 'lms-relay-key', secret: 'lms-relay-secret-81d0' }
const LMS_CLIENT_SECRET = 'lti-provider-secret-5e2b'
const SECRETS = [SECRET, RELAY.secret, LMS_CLIENT_SECRET, TEST_ADMIN_TOKEN]
const TABLES = ['oauth_nonces', 'lti_users', 'graded_assignments', 'outcome_services']
const tally = createTally()

const launchParams = (over: Record<string, string> = {}): Record<string, string> => ({
  lti_message_type: 'basic-lti-launch-request',
  lti_version: 'LTI-1p0',
  resource_link_id: 'rl-1',
  user_id: 'learner-42',
  roles: 'Learner',
  context_id: 'ctx-1',
  ...over
})

const sign = (over: Record<string, string> = {}): ReturnType<typeof signLaunchWithImsLti> =>
  signLaunchWithImsLti(PUBLIC_URL + PATH, KEY, SECRET, launchParams(over))

/** `contentType` null: no Content-Type header at all. */
async function post (app: FastifyInstance, payload: string | Buffer, contentType: string | null = 'application/x-www-form-urlencoded'): Promise<InjectAnswer> {
  tally.add()
  return await app.inject({ method: 'POST', url: PATH, payload, headers: { accept: 'text/html', ...(contentType === null ? {} : { 'content-type': contentType }) } })
}

// Any UTF-16 code unit, lone surrogates included, or a known troublemaker.
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map(c => String.fromCharCode(c))
const hostileText = fc.oneof(
  fc.string({ unit: anyUnit, maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(...HOSTILE_STRINGS)
)
const OAUTH_NAMES = ['oauth_consumer_key', 'oauth_nonce', 'oauth_signature', 'oauth_signature_method', 'oauth_timestamp', 'oauth_version', 'oauth_callback', 'oauth_body_hash', 'oauth_token']
const LTI_NAMES = ['lti_message_type', 'lti_version', 'resource_link_id', 'user_id', 'roles', 'context_id', 'custom_x', 'lis_result_sourcedid', 'lis_outcome_service_url', 'launch_presentation_return_url', 'tool_consumer_instance_guid']
const paramName = fc.oneof(fc.constantFrom(...OAUTH_NAMES, ...LTI_NAMES), hostileText)

t.test('LTI 1.1 launch under hostile input', async t => {
  const lms = await startFakeLms({ clientId: 'lti-provider-client', clientSecret: LMS_CLIENT_SECRET, ltiConsumers: [{ key: RELAY.key, secret: RELAY.secret, usePii: true }] })
  t.teardown(() => lms.close())
  const { app } = await buildTestApp(t, {
    PUBLIC_URL,
    LMS_URL: lms.url,
    LMS_CLIENT_ID: 'lti-provider-client',
    LMS_CLIENT_SECRET,
    LMS_RELAY_CONSUMER_KEY: RELAY.key,
    LMS_RELAY_CONSUMER_SECRET: RELAY.secret,
    LMS_TIMEOUT_MS: '1500',
    // Floods are the rate limiter's business (its own tests); here every input must reach the checks.
    RATE_LIMIT_ENABLED: 'false'
  })
  const at = Date.now()
  // A fixed outcome host list, so no hostile launch can pin one on the consumer.
  await createLti11ConsumersRepository(app.knex).insert({
    name: KEY, consumerKey: KEY, secretEnc: app.secretBox.seal(SECRET, CONSUMER_SECRET_CONTEXT), instanceGuid: 'canvas.example.edu',
    contentScope: ['course-v1:OpenedX+*'], usePii: false, requireUserAccount: false, outcomeHosts: ['canvas.example.edu'], pinOutcomeHost: false,
    signatureMethods: ['HMAC-SHA1'], timestampWindow: 300, active: true, createdAt: at, updatedAt: at
  })
  // The GUID may follow a verified launch (by design); the outcome host policy must never move.
  const consumerRow = async (): Promise<unknown> => await app.knex('lti11_consumers').select('outcome_hosts', 'pin_outcome_host', 'content_scope', 'secret_enc', 'active').first()
  const consumerBefore = await consumerRow()

  /** Sends, checks the refusal and that no table grew. */
  async function refused (payload: string | Buffer, expected: Parameters<typeof notRefusal>[1], contentType?: string | null): Promise<string | undefined> {
    const before = await countRows(app.knex, TABLES)
    const res = await post(app, payload, contentType)
    return notRefusal(res, expected, SECRETS) ?? countsChanged(before, await countRows(app.knex, TABLES))
  }

  const PRE_SIGNATURE = { status: [400, 401], code: /^LTI11_(MISSING_PARAM|DUPLICATE_PARAM|MALFORMED_PARAM|BAD_OAUTH_VERSION|UNKNOWN_CONSUMER|SIGNATURE_METHOD_NOT_ALLOWED|STALE_TIMESTAMP|BAD_SIGNATURE)$/ } as const

  await t.test('random unsigned forms (random, missing and repeated parameters): an LTI11_* refusal, nothing stored', async t => {
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(paramName, hostileText), { maxLength: 24 }), async pairs => {
      const failure = await refused(new URLSearchParams(pairs).toString(), PRE_SIGNATURE)
      if (failure !== undefined) throw new Error(failure)
    }), { numRuns: 200 })
    t.pass('200 random forms refused')
  })

  await t.test('raw bytes: invalid UTF-8 (percent-encoded and raw), stray %, many parameters', async t => {
    const chunk = fc.oneof(
      fc.constantFrom('%C3%28', '%FF', '%FE%FF', '%ED%A0%80', '%F0%28%8C%BC', '%E2%82', '%C0%AF', '%', '%G1', '%%', '&', '=', '&&==', '+', 'oauth_nonce=', 'user_id=', 'oauth_consumer_key=canvas&'),
      fc.uint8Array({ minLength: 1, maxLength: 8 }).map(b => Buffer.from(b).toString('latin1')),
      fc.string({ unit: 'binary-ascii', maxLength: 10 })
    )
    await fc.assert(fc.asyncProperty(fc.array(chunk, { maxLength: 40 }), fc.boolean(), async (chunks, signedPrefix) => {
      // Half the time the junk follows a well-signed launch (as the value of an unsigned extra
      // parameter, so never a valid launch), and reaches the signature check.
      const prefix = signedPrefix ? sign().body + '&z=' : ''
      const payload = Buffer.concat([Buffer.from(prefix), Buffer.from(chunks.join(''), 'latin1')])
      const failure = await refused(payload, { status: [400, 401], code: [...codesOf(PRE_SIGNATURE.code), 'BAD_REQUEST'] })
      if (failure !== undefined) throw new Error(failure)
    }), { numRuns: 200 })
    t.pass('200 byte-level bodies refused')
  })

  await t.test('one parameter repeated after signing (oauth_* or LTI): refused, nothing stored', async t => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...OAUTH_NAMES.slice(0, 6), ...LTI_NAMES.slice(0, 6)), fc.oneof(fc.constant(null), hostileText), async (name, value) => {
      const signed = sign()
      // null: the very same value again (an exact duplicate must still be refused).
      const again = value ?? signed.params[name] ?? ''
      const body = signed.body + '&' + new URLSearchParams([[name, again]]).toString()
      const failure = await refused(body, { status: [400, 401], code: ['LTI11_DUPLICATE_PARAM', 'LTI11_BAD_SIGNATURE'] })
      if (failure !== undefined) throw new Error(`${name}: ${failure}`)
    }), { numRuns: 100 })
    t.pass('100 duplicated parameters refused')
  })

  await t.test('signed WITH a repeated single-valued LTI parameter: LTI11_DUPLICATE_PARAM before any nonce is kept', async t => {
    await fc.assert(fc.asyncProperty(fc.constantFrom('lti_message_type', 'lti_version', 'resource_link_id', 'user_id', 'roles', 'context_id', 'custom_x', 'lis_person_name_full', 'launch_presentation_return_url'), hostileText, async (name, value) => {
      const launch: Record<string, string | string[]> = { ...launchParams({ custom_x: '1', lis_person_name_full: 'A', launch_presentation_return_url: 'https://canvas.example.edu/' }) }
      launch[name] = [launch[name] as string, wellFormed(value)]
      const signed = signLaunchWithImsLti(PUBLIC_URL + PATH, KEY, SECRET, launch as Record<string, string>)
      const failure = await refused(signed.body, { status: [400, 401], code: ['LTI11_DUPLICATE_PARAM', 'LTI11_BAD_SIGNATURE'] })
      if (failure !== undefined) throw new Error(`${name}: ${failure}`)
    }), { numRuns: 60 })
    t.pass('60 signed duplicates refused')
  })

  await t.test('valid except one field changed after signing: LTI11_BAD_SIGNATURE, nothing stored', async t => {
    const mutable = ['lti_message_type', 'lti_version', 'resource_link_id', 'user_id', 'roles', 'context_id', 'custom_x', 'oauth_nonce', 'oauth_signature', 'oauth_callback']
    await fc.assert(fc.asyncProperty(fc.constantFrom(...mutable), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), async (name, value) => {
      const signed = sign({ custom_x: 'opaque' })
      fc.pre(value.trim() !== '' && value !== signed.params[name])
      const params = new URLSearchParams(signed.body)
      params.set(name, value)
      const failure = await refused(params.toString(), { status: 401, code: 'LTI11_BAD_SIGNATURE' })
      if (failure !== undefined) throw new Error(`${name}: ${failure}`)
    }), { numRuns: 200 })
    t.pass('200 tampered launches refused')
  })

  await t.test('wrong content types: 415, 400 or an LTI11_* refusal, never a launch', async t => {
    const types = fc.constantFrom(null, 'application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/xml', 'application/x-www-form-urlencoded; charset=iso-8859-1', 'application/x-www-form-urlencoded; charset=utf-16', 'text/html', 'application/octet-stream', 'APPLICATION/X-WWW-FORM-URLENCODED', 'x/y;\u0000')
    await fc.assert(fc.asyncProperty(types, fc.boolean(), async (type, asJson) => {
      const signed = sign()
      const payload = asJson ? JSON.stringify(signed.params) : signed.body
      const before = await countRows(app.knex, TABLES)
      const res = await post(app, payload, type)
      const unsafe = unsafeAnswer(res, SECRETS)
      if (unsafe !== undefined) throw new Error(`${String(type)}: ${unsafe}`)
      const code = refusalCode(res) ?? ''
      // A well-signed form in a form content type (any charset parameter) is a launch. Anything else
      // is refused with 415, even the signed fields as JSON or a form without a type (regression:
      // both used to launch, the signature checked over parameters RFC 5849 does not sign).
      const formLike = type !== null && /^application\/x-www-form-urlencoded/i.test(type)
      if (formLike && !asJson) {
        if (res.statusCode !== 200) throw new Error(`${String(type)}: form not launched: ${res.statusCode} ${code}`)
        return
      }
      // JSON text read as a form: one meaningless parameter. Form text sent as JSON: unparseable (400).
      const expected = formLike ? ['400 LTI11_MISSING_PARAM'] : ['415 UNSUPPORTED_MEDIA_TYPE', '400 BAD_REQUEST']
      if (!expected.includes(`${res.statusCode} ${code}`)) throw new Error(`${String(type)} json=${String(asJson)}: ${res.statusCode} ${code}`)
      const changed = countsChanged(before, await countRows(app.knex, TABLES))
      if (changed !== undefined) throw new Error(changed)
    }), { numRuns: 60 })
    t.pass('60 content-type variants')
  })

  await t.test('huge bodies: 413 BODY_TOO_LARGE, nothing stored', async t => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 70_000, max: 400_000 }), fc.constantFrom('user_id', 'custom_big', 'oauth_signature', 'x'), async (size, name) => {
      const body = sign().body + '&' + name + '=' + 'A'.repeat(size)
      const failure = await refused(body, { status: 413, code: 'BODY_TOO_LARGE' })
      if (failure !== undefined) throw new Error(failure)
    }), { numRuns: 20 })
    t.pass('20 huge bodies refused')
  })

  await t.test('well-signed launches with hostile LTI values: a clean launch with the value kept opaque, or a stable refusal', async t => {
    const launches = { ok: 0, refused: 0 }
    const userId = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }),
      fc.constantFrom('a\u0000b', '\u0000', 'x'.repeat(255), 'x'.repeat(256), 'é'.repeat(300), 'learner\r\nSet-Cookie: pwned=1', '<script>alert(1)</script>', '__proto__', "' OR 1=1 --"),
      fc.string({ unit: 'grapheme-ascii', minLength: 256, maxLength: 2000 })
    )
    const hostile = fc.record({
      user_id: userId,
      resource_link_id: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 50 }), fc.constant('r'.repeat(10_000))),
      roles: fc.oneof(hostileText, fc.constant(',,,;;urn:lti:role:ims/lis/Administrator,\u0000')),
      context_id: fc.string({ unit: 'binary', minLength: 1, maxLength: 50 }),
      custom_a: hostileText,
      'custom___proto__': hostileText,
      lis_person_name_full: hostileText,
      launch_presentation_return_url: fc.constantFrom('javascript:alert(1)', 'https://evil.example/\r\nSet-Cookie: x=1', '//evil.example', 'https://canvas.example.edu/return'),
      tool_consumer_instance_guid: fc.constantFrom('canvas.example.edu', 'g'.repeat(256), 'canvas.example.edu\u0000x')
    }, { requiredKeys: ['user_id'] })
    await fc.assert(fc.asyncProperty(hostile, async values => {
      // URLSearchParams turns a lone surrogate into U+FFFD, which the platform would have signed too.
      const over = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, wellFormed(v)])) as Record<string, string> & { user_id: string }
      const before = await countRows(app.knex, TABLES)
      const res = await post(app, sign(over).body)
      const unsafe = unsafeAnswer(res, SECRETS)
      if (unsafe !== undefined) throw new Error(unsafe)
      if (res.headers['set-cookie'] !== undefined) throw new Error('a launch page set a cookie')
      if (/<script>alert/.test(res.body)) throw new Error('unescaped value in the page')
      const after = await countRows(app.knex, TABLES)
      if (res.statusCode === 200) {
        launches.ok++
        const user = await app.knex('lti_users').where({ lti_user_id: over.user_id }).first()
        if (user?.lti_user_id !== over.user_id) throw new Error(`user_id not kept opaque: ${JSON.stringify(over.user_id)} → ${JSON.stringify(user?.lti_user_id)}`)
        return
      }
      launches.refused++
      const code = refusalCode(res)
      // Counted in code points, as MariaDB counts VARCHAR(255) characters.
      const userIdTooLong = [...over.user_id].length > 255
      const guidTooLong = [...(over.tool_consumer_instance_guid ?? '')].length > 255
      // Whichever check comes first may answer: each cause has its code.
      const allowed: string[] = []
      if (over.user_id.trim() === '' || over.context_id?.trim() === '' || over.resource_link_id?.trim() === '') allowed.push('LTI11_MISSING_PARAM')
      if (userIdTooLong || guidTooLong) allowed.push('LTI11_MALFORMED_PARAM')
      if (code === undefined || !allowed.includes(code) || res.statusCode !== 400) throw new Error(`unexpected refusal ${res.statusCode} ${String(code)} for ${JSON.stringify(over).slice(0, 300)}`)
      const changed = countsChanged(before, after)
      if (changed !== undefined) throw new Error(changed)
    }), { numRuns: 120 })
    t.ok(launches.ok > 0, `${launches.ok} launched, ${launches.refused} refused`)
    t.same(await consumerRow(), consumerBefore, 'outcome hosts, scope, secret and state of the consumer never changed')
  })

  await t.test('regressions found by the properties', async t => {
    // user_id and tool_consumer_instance_guid longer than their 255-character columns: MariaDB's
    // strict mode failed the insert (500 INTERNAL_ERROR); now refused before anything is kept.
    for (const [name, over] of [['user_id', { user_id: 'u'.repeat(256) }], ['tool_consumer_instance_guid', { tool_consumer_instance_guid: 'g'.repeat(256) }]] as const) {
      const failure = await refused(sign(over).body, { status: 400, code: 'LTI11_MALFORMED_PARAM' })
      t.equal(failure, undefined, `${name} of 256 characters: ${String(failure)}`)
    }
    const ok = await post(app, sign({ user_id: '😀'.repeat(255) }).body)
    t.equal(ok.statusCode, 200, '255 characters (510 UTF-16 units) still launch')
    // A signed launch sent as JSON, or as a form without a content type, used to launch.
    for (const [name, payload, type] of [['JSON', JSON.stringify(sign().params), 'application/json'], ['no content type', sign().body, null]] as const) {
      const failure = await refused(payload, { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' }, type)
      t.equal(failure, undefined, `${name}: ${String(failure)}`)
    }
  })

  t.comment(`hostile LTI 1.1 launch requests sent: ${tally.total}`)
})

/** String.prototype.toWellFormed (ES2024, not in this project's lib): lone surrogates → U+FFFD. */
function wellFormed (value: string): string {
  return value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
}

function codesOf (pattern: RegExp): string[] {
  return /\(([^)]*)\)/.exec(pattern.source)![1]!.split('|').map(c => `LTI11_${c}`)
}
