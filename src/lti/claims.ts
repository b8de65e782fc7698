/**
 * LTI 1.3 / LTI Advantage vocabulary: claim names, scopes, media types, message types and role URIs.
 * Every `purl.imsglobal.org` string the service uses lives here, so a typo is a compile error
 * rather than a silently missing claim (atomic-libs lesson, style.md §3).
 */

const LTI = 'https://purl.imsglobal.org/spec/lti/claim/'
const AGS = 'https://purl.imsglobal.org/spec/lti-ags/'
const NRPS = 'https://purl.imsglobal.org/spec/lti-nrps/'
const DL = 'https://purl.imsglobal.org/spec/lti-dl/claim/'

/** Claims of LTI Core 1.3 messages (id_token and Deep Linking response). */
export const LtiClaim = {
  messageType: `${LTI}message_type`,
  version: `${LTI}version`,
  deploymentId: `${LTI}deployment_id`,
  targetLinkUri: `${LTI}target_link_uri`,
  resourceLink: `${LTI}resource_link`,
  roles: `${LTI}roles`,
  roleScopeMentor: `${LTI}role_scope_mentor`,
  context: `${LTI}context`,
  toolPlatform: `${LTI}tool_platform`,
  launchPresentation: `${LTI}launch_presentation`,
  custom: `${LTI}custom`,
  lis: `${LTI}lis`,
  /** LTI 1.1 → 1.3 migration claim (1EdTech LTI 1.3 migration guide). */
  lti1p1: `${LTI}lti1p1`,
  lti11LegacyUserId: `${LTI}lti11_legacy_user_id`
} as const

/** LTI Advantage service claims carried by the id_token. */
export const ServiceClaim = {
  agsEndpoint: `${AGS}claim/endpoint`,
  nrpsNamesRoleService: `${NRPS}claim/namesroleservice`
} as const

/** Deep Linking 2.0 claims. */
export const DeepLinkingClaim = {
  settings: `${DL}deep_linking_settings`,
  contentItems: `${DL}content_items`,
  data: `${DL}data`,
  msg: `${DL}msg`,
  log: `${DL}log`,
  errorMsg: `${DL}errormsg`,
  errorLog: `${DL}errorlog`
} as const

export const LTI_VERSION = '1.3.0' as const

export const MessageType = {
  resourceLinkRequest: 'LtiResourceLinkRequest',
  deepLinkingRequest: 'LtiDeepLinkingRequest',
  deepLinkingResponse: 'LtiDeepLinkingResponse'
} as const
export type MessageType = typeof MessageType[keyof typeof MessageType]

/** OAuth 2 scopes of the LTI Advantage services. */
export const Scope = {
  agsLineItem: `${AGS}scope/lineitem`,
  agsLineItemReadonly: `${AGS}scope/lineitem.readonly`,
  agsResultReadonly: `${AGS}scope/result.readonly`,
  agsScore: `${AGS}scope/score`,
  nrpsContextMembershipReadonly: `${NRPS}scope/contextmembership.readonly`
} as const
export type Scope = typeof Scope[keyof typeof Scope]

/** Media types of the AGS and NRPS services (wire-formats.md §7). */
export const MediaType = {
  agsScore: 'application/vnd.ims.lis.v1.score+json',
  agsLineItem: 'application/vnd.ims.lis.v2.lineitem+json',
  agsLineItemContainer: 'application/vnd.ims.lis.v2.lineitemcontainer+json',
  agsResultContainer: 'application/vnd.ims.lis.v2.resultcontainer+json',
  nrpsMembershipContainer: 'application/vnd.ims.lti-nrps.v2.membershipcontainer+json'
} as const

/** RFC 7523 client authentication (wire-formats.md §8). */
export const OAuth = {
  clientCredentialsGrant: 'client_credentials',
  jwtBearerAssertionType: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
} as const

const LIS = 'http://purl.imsglobal.org/vocab/lis/v2/'

/**
 * Role URIs (LTI 1.3 §A.2). Platforms send any mix of system, institution and context roles;
 * Open edX sends the ones noted in wire-formats.md §6.
 */
export const Role = {
  systemAdministrator: `${LIS}system/person#Administrator`,
  systemUser: `${LIS}system/person#User`,
  institutionAdministrator: `${LIS}institution/person#Administrator`,
  institutionInstructor: `${LIS}institution/person#Instructor`,
  institutionStudent: `${LIS}institution/person#Student`,
  institutionLearner: `${LIS}institution/person#Learner`,
  institutionMentor: `${LIS}institution/person#Mentor`,
  institutionStaff: `${LIS}institution/person#Staff`,
  membershipAdministrator: `${LIS}membership#Administrator`,
  membershipContentDeveloper: `${LIS}membership#ContentDeveloper`,
  membershipInstructor: `${LIS}membership#Instructor`,
  membershipLearner: `${LIS}membership#Learner`,
  membershipMentor: `${LIS}membership#Mentor`,
  membershipManager: `${LIS}membership#Manager`,
  membershipTeachingAssistant: `${LIS}membership/Instructor#TeachingAssistant`
} as const

export const ContextType = {
  courseOffering: `${LIS}course#CourseOffering`,
  courseSection: `${LIS}course#CourseSection`,
  courseTemplate: `${LIS}course#CourseTemplate`,
  group: `${LIS}course#Group`
} as const

/** postMessage subjects of LTI platform storage (wire-formats.md §10). */
export const PlatformStorageSubject = {
  capabilities: 'lti.capabilities',
  putData: 'lti.put_data',
  getData: 'lti.get_data'
} as const
