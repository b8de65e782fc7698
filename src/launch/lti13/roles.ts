/**
 * LTI roles are claims of the platform, not permissions in the LMS (lti-checklist.md §2 #21: the
 * removed edx content-libraries tool granted library ADMIN to any launched user). The mapping is
 * explicit and has one outcome today: every launch acts as a learner, enrolled in the default
 * mode, and the relay handoff forwards `Learner` only. Registrations grant nothing more (there is
 * no staff grant to opt into), so a platform instructor gets a learner's view of the block; staff
 * work happens in the LMS itself, under the staff's own LMS account.
 *
 * The platform's role is still classified, for logs and for a future per-registration grant.
 */
import { Role } from '../../lti/claims.js'

export type PlatformRole = 'administrator' | 'instructor' | 'learner' | 'other'
export type GrantedRole = 'learner'

export interface MappedRoles {
  platformRole: PlatformRole
  granted: GrantedRole
  /** The LTI 1.1 `roles` value the relay handoff sends to the LMS's built-in provider. */
  relayRoles: string[]
}

const ADMINISTRATOR = new Set<string>([Role.systemAdministrator, Role.institutionAdministrator, Role.membershipAdministrator])
const INSTRUCTOR = new Set<string>([Role.institutionInstructor, Role.membershipInstructor, Role.membershipTeachingAssistant, Role.membershipContentDeveloper])
const LEARNER = new Set<string>([Role.institutionStudent, Role.institutionLearner, Role.membershipLearner])

export function classifyPlatformRole (roles: readonly string[]): PlatformRole {
  if (roles.some(r => ADMINISTRATOR.has(r))) return 'administrator'
  if (roles.some(r => INSTRUCTOR.has(r))) return 'instructor'
  if (roles.some(r => LEARNER.has(r))) return 'learner'
  return 'other'
}

export function mapLaunchRoles (roles: readonly string[]): MappedRoles {
  return { platformRole: classifyPlatformRole(roles), granted: 'learner', relayRoles: ['Learner'] }
}
