import t from 'tap'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LtiClaim, MediaType, MessageType, Role, Scope, ServiceClaim, DeepLinkingClaim, OAuth } from '../../../src/lti/claims.js'

t.test('constants spell the specification URIs exactly', async t => {
  // Literal copies from LTI 1.3 Core, AGS 2.0, NRPS 2.0 and DL 2.0 (wire-formats.md §6–§9).
  t.equal(LtiClaim.messageType, 'https://purl.imsglobal.org/spec/lti/claim/message_type')
  t.equal(LtiClaim.deploymentId, 'https://purl.imsglobal.org/spec/lti/claim/deployment_id')
  t.equal(LtiClaim.targetLinkUri, 'https://purl.imsglobal.org/spec/lti/claim/target_link_uri')
  t.equal(LtiClaim.resourceLink, 'https://purl.imsglobal.org/spec/lti/claim/resource_link')
  t.equal(LtiClaim.lti1p1, 'https://purl.imsglobal.org/spec/lti/claim/lti1p1')
  t.equal(ServiceClaim.agsEndpoint, 'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint')
  t.equal(ServiceClaim.nrpsNamesRoleService, 'https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice')
  t.equal(DeepLinkingClaim.settings, 'https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings')
  t.equal(Scope.agsScore, 'https://purl.imsglobal.org/spec/lti-ags/scope/score')
  t.equal(Scope.agsLineItemReadonly, 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly')
  t.equal(Scope.nrpsContextMembershipReadonly, 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly')
  t.equal(MediaType.agsScore, 'application/vnd.ims.lis.v1.score+json')
  t.equal(MediaType.agsLineItemContainer, 'application/vnd.ims.lis.v2.lineitemcontainer+json')
  t.equal(MessageType.resourceLinkRequest, 'LtiResourceLinkRequest')
  t.equal(Role.systemAdministrator, 'http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator')
  t.equal(Role.institutionStudent, 'http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student')
  t.equal(Role.membershipLearner, 'http://purl.imsglobal.org/vocab/lis/v2/membership#Learner')
  t.equal(OAuth.jwtBearerAssertionType, 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
})

t.test('no purl.imsglobal.org string is inlined in the LTI 1.3 core outside claims.ts', async t => {
  const root = fileURLToPath(new URL('../../../src/lti/v13', import.meta.url))
  const files: string[] = []
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (path.endsWith('.ts')) files.push(path)
    }
  }
  walk(root)
  t.ok(files.length > 10, 'the core was scanned')
  for (const file of files) t.notMatch(readFileSync(file, 'utf8'), /purl\.imsglobal\.org/, file)
})
