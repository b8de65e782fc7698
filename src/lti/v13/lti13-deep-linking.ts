import type { RegistrationId } from './registration.js'

/**
 * The Deep Linking 2.0 settings of a content selection request (`deep_linking_settings` claim),
 * validated. `data` is kept exactly as sent: the response must echo it unchanged.
 */
export interface DeepLinkingSettings {
  returnUrl: string
  acceptTypes: string[]
  acceptPresentationDocumentTargets: string[]
  acceptMultiple: boolean
  acceptLineItem: boolean
  autoCreate: boolean
  data: string | undefined
  title: string | undefined
  text: string | undefined
}

/** A validated `LtiDeepLinkingRequest`: an instructor asking the tool to pick content for the platform. */
export interface Lti13DeepLinkingRequest {
  registrationId: RegistrationId
  iss: string
  clientId: string
  deploymentId: string
  messageType: 'LtiDeepLinkingRequest'
  /** Absent only where the registration allows anonymous launches (the role check then refuses). */
  sub: string | undefined
  roles: string[]
  context: { id: string, title?: string | undefined } | undefined
  targetLinkUri: string
  settings: DeepLinkingSettings
  nonce: string
  issuedAt: number
  expiresAt: number
}
