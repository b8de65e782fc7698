import { LtiClaim } from '../../claims.js'
import { lti13Error } from '../errors.js'
import { MAX_ID_LENGTH, requiredString, type Claims } from '../claim-readers.js'
import type { DeploymentRegistry, Lti13Registration } from '../registration.js'

/**
 * Step 7, deployment. `strict`: only deployments an admin listed for this registration; `record`:
 * any deployment is accepted and recorded (idempotently) so admins can see and later restrict it.
 */
export async function checkDeployment (claims: Claims, registration: Lti13Registration, deployments: DeploymentRegistry): Promise<string> {
  const deploymentId = requiredString(claims, LtiClaim.deploymentId, 'deployment_id', MAX_ID_LENGTH)
  if (registration.deploymentPolicy === 'record') {
    await deployments.record(registration.id, deploymentId)
    return deploymentId
  }
  if (!(await deployments.isKnown(registration.id, deploymentId))) {
    throw lti13Error('LTI13_UNKNOWN_DEPLOYMENT', { registrationId: registration.id, deploymentId })
  }
  return deploymentId
}
