/**
 * Registers a fake LTI 1.3 platform (test/support/fake-lti13-platform.ts) with the tool, as an admin
 * would: the registration with its endpoints, strict deployments, and the platform's deployment.
 */
import type { Knex } from 'knex'
import type { FakeLti13Platform } from '../support/fake-lti13-platform.js'
import { createLti13RegistrationsRepository, type NewLti13Registration } from '../../src/db/repositories/lti13-registrations-repository.js'
import { createLti13DeploymentsRepository } from '../../src/db/repositories/lti13-deployments-repository.js'

export async function registerFakePlatform (knex: Knex, platform: FakeLti13Platform, over: Partial<NewLti13Registration> = {}): Promise<number> {
  const now = Date.now()
  const registrationId = await createLti13RegistrationsRepository(knex).insert({
    name: 'Fake Open edX', issuer: platform.issuer, clientId: platform.clientId, authLoginUrl: platform.authLoginUrl,
    authTokenUrl: platform.tokenUrl, authTokenAudience: null, jwksUrl: platform.jwksUrl, deploymentPolicy: 'strict',
    contentScope: ['course-v1:OpenedX+*'], usePii: false, allowAnonymous: false, allowedAlgorithms: ['RS256'], allowedHosts: [],
    tokenMaxAge: 300, lti11ConsumerId: null, active: true, createdAt: now, updatedAt: now, ...over
  })
  await createLti13DeploymentsRepository(knex).insert({ registrationId, deploymentId: platform.deploymentId, source: 'admin', createdAt: now })
  return registrationId
}
