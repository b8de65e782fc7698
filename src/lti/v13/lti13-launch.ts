import type { RegistrationId } from './registration.js'

/** A validated LTI 1.3 resource link launch: everything later layers need, nothing unverified. */
export interface Lti13Launch {
  registrationId: RegistrationId
  iss: string
  clientId: string
  deploymentId: string
  messageType: 'LtiResourceLinkRequest'
  /** Absent only for an anonymous launch the registration allows. */
  sub: string | undefined
  roles: string[]
  resourceLink: { id: string, title?: string | undefined, description?: string | undefined }
  context: { id: string, type: string[], label?: string | undefined, title?: string | undefined } | undefined
  targetLinkUri: string
  /** From the target_link_uri path; absent when content was named by `openedx_usage_key`. */
  courseKey: string | undefined
  usageKey: string
  ags: { scope: string[], lineitem?: string | undefined, lineitems?: string | undefined } | undefined
  namesRoleService: { contextMembershipsUrl: string, serviceVersions: string[] } | undefined
  /** The LTI 1.1 migration claim as sent; verify it with verifyLti1p1Claim before trusting it. */
  lti1p1: {
    userId?: string | undefined
    oauthConsumerKey?: string | undefined
    oauthConsumerKeySign?: string | undefined
    resourceLinkId?: string | undefined
  } | undefined
  name: string | undefined
  givenName: string | undefined
  familyName: string | undefined
  email: string | undefined
  custom: Record<string, string>
  launchPresentation: {
    documentTarget?: string | undefined
    returnUrl?: string | undefined
    locale?: string | undefined
    width?: number | undefined
    height?: number | undefined
  } | undefined
  toolPlatform: { guid?: string | undefined, name?: string | undefined, productFamilyCode?: string | undefined, version?: string | undefined } | undefined
  /** Platform postMessage storage offered at login (frame name + origin), for later pages. */
  platformStorage: { frame: string, targetOrigin: string } | undefined
  /** Token facts the LTI 1.1 migration signature covers. */
  nonce: string
  issuedAt: number
  expiresAt: number
}
