import t from 'tap'
import { schemaProblems, assertSchema } from '../../src/admin/validate-input.js'
import { ConsumerCreateSchema, ConsumerUpdateSchema } from '../../schemas/http/admin-consumers.js'
import { RegistrationCreateSchema } from '../../schemas/http/admin-registrations.js'

t.test('schema problems name fields as the HTTP error handler does, never values', async t => {
  const secret = 'do-not-echo-this-secret'
  const problems = schemaProblems(ConsumerCreateSchema, { name: 'A', key: 'k', secret: 42, extra: secret, contentScope: ['ok', 7], timestampWindow: 1 })
  t.same(problems.map(p => p.field).sort(), ['contentScope.1', 'extra', 'secret', 'timestampWindow'])
  t.notMatch(JSON.stringify(problems), secret)
  t.same(schemaProblems(ConsumerCreateSchema, { key: 'k' }).map(p => [p.field, p.message]), [['name', 'is required'], ['secret', 'is required']])
  t.same(schemaProblems(ConsumerCreateSchema, { name: 'A', key: ' padded', secret: 's' }), [{ field: 'key', message: 'has characters or a form that is not allowed' }])
  t.same(schemaProblems(ConsumerUpdateSchema, {}).map(p => p.field), [''])
  t.same(schemaProblems(RegistrationCreateSchema, { name: 'n', issuer: 'https://i', clientId: 'c', authLoginUrl: 'https://a', authTokenUrl: 'https://t', jwksUrl: 'https://j', allowedAlgorithms: ['none'] }).map(p => p.field), ['allowedAlgorithms.0'])
})

t.test('assertSchema throws ADMIN_INVALID_FIELDS with the problems', async t => {
  t.throws(() => assertSchema(ConsumerCreateSchema, { name: 'A', key: 'k', secret: 's', usePii: 'yes' }), { code: 'ADMIN_INVALID_FIELDS', status: 400, details: { fields: [{ field: 'usePii' }] } })
  t.doesNotThrow(() => assertSchema(ConsumerCreateSchema, { name: 'A', key: 'k', secret: 's' }))
})
