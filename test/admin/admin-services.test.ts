import t from 'tap'
import { createTestDb } from '../helpers/db.js'
import { createSecretBox } from '../../src/crypto/secret-box.js'
import { createAdminServices } from '../../src/admin/admin-services.js'
import { CONSUMER_SECRET_CONTEXT } from '../../src/admin/consumers-service.js'
import type { ConsumerCreate } from '../../schemas/http/admin-consumers.js'
import type { RegistrationCreate } from '../../schemas/http/admin-registrations.js'

const SECRET_KEY = 'k'.repeat(40)
const config = { publicOrigin: 'https://tool.example.org', OUTBOUND_ALLOW_LOOPBACK_HTTP: false, LTI11_TIMESTAMP_WINDOW: 450 }

t.test('services validate their own input (the CLI has no Ajv in front)', async t => {
  const db = await createTestDb(t)
  const services = createAdminServices({ knex: db.knex, secretBox: createSecretBox(SECRET_KEY), config, now: () => 1_800_000_000_000 })

  await t.rejects(services.consumers.create({ name: 'A', key: 'k', secret: 7 } as unknown as ConsumerCreate), { code: 'ADMIN_INVALID_FIELDS', details: { fields: [{ field: 'secret' }] } })
  await t.rejects(services.consumers.create({ name: 'A', key: 'k', secret: 's', admin: true } as unknown as ConsumerCreate), { code: 'ADMIN_INVALID_FIELDS', details: { fields: [{ field: 'admin' }] } })
  await t.rejects(services.registrations.create({ name: 'n', issuer: 'http://platform.example', clientId: 'c', authLoginUrl: 'https://a.example', authTokenUrl: 'https://t.example', jwksUrl: 'https://j.example' } as RegistrationCreate),
    { code: 'ADMIN_INVALID_FIELDS', details: { fields: [{ field: 'issuer', message: 'must use https' }] } })
  await t.rejects(services.passbacks.list({ limit: 0 }), { code: 'ADMIN_INVALID_FIELDS', details: { fields: [{ field: 'limit' }] } })
  await t.rejects(services.passbacks.retryMany({ status: 'delivered' } as never), { code: 'ADMIN_INVALID_FIELDS' })
  await t.rejects(services.registrations.addDeployment(1, ''), { code: 'ADMIN_INVALID_FIELDS' })
  t.same(await db.knex('lti11_consumers').count({ n: '*' }).first().then(r => Number(r?.n)), 0)

  const consumer = await services.consumers.create({ name: 'A', key: 'k', secret: 'a-long-enough-secret', signatureMethods: ['HMAC-SHA256', 'HMAC-SHA1'] })
  t.match(consumer, { timestampWindow: 450, signatureMethods: ['HMAC-SHA1', 'HMAC-SHA256'], createdAt: '2027-01-15T08:00:00.000Z', pinOutcomeHost: true, contentScope: [] })
  const row = await db.knex('lti11_consumers').first()
  t.equal(createSecretBox(SECRET_KEY).open(row.secret_enc, CONSUMER_SECRET_CONTEXT), 'a-long-enough-secret')
  t.equal(CONSUMER_SECRET_CONTEXT, 'lti11_consumers.secret')

  const reg = await services.registrations.create({ name: 'n', issuer: 'https://platform.example', clientId: 'c', authLoginUrl: 'https://a.example', authTokenUrl: 'https://t.example', jwksUrl: 'https://j.example' })
  t.same(reg.tool, {
    loginUrl: 'https://tool.example.org/lti/1.3/login',
    redirectUri: 'https://tool.example.org/lti/1.3/launch',
    jwksUrl: 'https://tool.example.org/lti/1.3/jwks',
    targetLinkUriTemplate: 'https://tool.example.org/lti/1.3/courses/{course_id}/{usage_id}',
    deepLinkingUrl: 'https://tool.example.org/lti/1.3/deep-linking/launch'
  })
  t.match(reg, { deploymentPolicy: 'strict', allowedAlgorithms: ['RS256'], tokenMaxAge: 300, deployments: [] })
})
