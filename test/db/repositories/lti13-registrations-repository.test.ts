import t from 'tap'
import { createTestDb } from '../../helpers/db.js'
import { isUniqueViolation } from '../../../src/db/connection.js'
import { createLti13RegistrationsRepository, type NewLti13Registration } from '../../../src/db/repositories/lti13-registrations-repository.js'
import { createLti13DeploymentsRepository } from '../../../src/db/repositories/lti13-deployments-repository.js'

const registration = (over: Partial<NewLti13Registration> = {}): NewLti13Registration => ({
  name: 'Canvas', issuer: 'https://canvas.instructure.com', clientId: '1000', authLoginUrl: 'https://sso.example/auth',
  authTokenUrl: 'https://sso.example/token', authTokenAudience: null, jwksUrl: 'https://sso.example/jwks', deploymentPolicy: 'strict',
  contentScope: ['*'], usePii: false, allowAnonymous: true, allowedAlgorithms: ['RS256', 'PS256'], allowedHosts: ['*.instructure.com'],
  tokenMaxAge: 300, lti11ConsumerId: null, active: true, createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000, ...over
})

t.test('registrations round trip and are found by issuer (and client id)', async t => {
  const db = await createTestDb(t)
  const repo = createLti13RegistrationsRepository(db.knex)
  const a = await repo.insert(registration())
  const b = await repo.insert(registration({ clientId: '2000', deploymentPolicy: 'record' }))
  await repo.insert(registration({ issuer: 'https://moodle.example.edu', clientId: '1000' }))
  t.same(await repo.findById(a), { id: a, selectableBlockTypes: null, ...registration() }, 'selectable block types default to the built-in list (null)')
  t.same((await repo.findByIssuer('https://canvas.instructure.com')).map(r => r.id), [a, b])
  t.same((await repo.findByIssuer('https://canvas.instructure.com', '2000')).map(r => [r.id, r.deploymentPolicy]), [[b, 'record']])
  t.same(await repo.findByIssuer('https://canvas.instructure.com/'), [], 'issuers compare exactly')

  const dup = await repo.insert(registration({ name: 'dup' })).then(() => null, (e: unknown) => e)
  t.ok(isUniqueViolation(dup), 'unique (issuer, client_id)')

  t.equal(await repo.update(b, { allowedHosts: [], authTokenAudience: 'aud', updatedAt: 1_700_000_000_001 }), 1)
  t.match(await repo.findById(b), { allowedHosts: [], authTokenAudience: 'aud' })
  t.equal(await repo.update(12345, { name: 'x' }), 0)
  t.equal(await repo.update(b, {}), 1)
  t.equal(await repo.update(12345, {}), 0)
  t.equal((await repo.list()).length, 3)
})

t.test('deployments belong to one registration and go with it', async t => {
  const db = await createTestDb(t)
  const registrations = createLti13RegistrationsRepository(db.knex)
  const deployments = createLti13DeploymentsRepository(db.knex)
  const a = await registrations.insert(registration())
  const b = await registrations.insert(registration({ clientId: '2' }))
  await deployments.insert({ registrationId: a, deploymentId: '1:abc', source: 'admin', createdAt: 5 })
  await deployments.insert({ registrationId: a, deploymentId: '2', source: 'recorded', createdAt: 6 })
  await deployments.insert({ registrationId: b, deploymentId: '1:abc', source: 'admin', createdAt: 7 })
  const dup = await deployments.insert({ registrationId: a, deploymentId: '2', source: 'admin', createdAt: 8 }).then(() => null, (e: unknown) => e)
  t.ok(isUniqueViolation(dup), 'one row per (registration, deployment id)')

  t.same((await deployments.listByRegistration(a)).map(d => [d.deploymentId, d.source, d.createdAt]), [['1:abc', 'admin', 5], ['2', 'recorded', 6]])
  t.same((await deployments.listByRegistrations([a, b])).map(d => d.registrationId), [a, a, b])
  t.same(await deployments.listByRegistrations([]), [])
  t.match(await deployments.find(b, '1:abc'), { registrationId: b, deploymentId: '1:abc' })
  t.equal(await deployments.find(b, '2'), undefined)
  t.equal(await deployments.remove(b, '2'), 0)
  t.equal(await deployments.remove(b, '1:abc'), 1)

  t.equal(await registrations.remove(a), 1)
  t.same(await deployments.listByRegistration(a), [], 'ON DELETE CASCADE')
})
