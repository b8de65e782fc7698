/**
 * Who may place content: LTI roles are the platform's claims, and choosing what a course shows is
 * staff work. Instructors, teaching assistants, content developers and administrators (system,
 * institution or course) may; learners, mentors and anyone without a role may not.
 */
import { Role } from '../../../lti/claims.js'

const MAY_SELECT = new Set<string>([
  Role.systemAdministrator,
  Role.institutionAdministrator,
  Role.institutionInstructor,
  Role.membershipAdministrator,
  Role.membershipInstructor,
  Role.membershipTeachingAssistant,
  Role.membershipContentDeveloper,
  // Short context roles (LTI 1.3 §A.2.3.1: platforms may send them without the vocabulary prefix).
  'Instructor',
  'Administrator',
  'ContentDeveloper',
  'TeachingAssistant'
])

export function maySelectContent (roles: readonly string[]): boolean {
  return roles.some(role => MAY_SELECT.has(role))
}
