/** Admin API: LTI 1.3 platform registrations and their deployments. */
import { Type, type Static } from 'typebox'
import { ContentScopeSchema, HostListSchema, IdString, NameString, NullableString, Timestamp } from './admin-common.js'

/** Asymmetric id_token algorithms an admin may allow; HS* and `none` are never acceptable. */
export const Lti13Algorithms = ['RS256', 'RS384', 'RS512', 'ES256', 'PS256'] as const
export const DeploymentPolicies = ['strict', 'record'] as const

const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'absolute https URL' })
const ClientId = Type.String({ minLength: 1, maxLength: 255, pattern: '^\\S(?:.*\\S)?$' })
/** Opaque to us (Canvas: `12:8865aa05…`); a single line without surrounding spaces. */
export const DeploymentIdSchema = Type.String({ minLength: 1, maxLength: 255, pattern: '^\\S(?:.*\\S)?$' })

const optionalFields = {
  authTokenAudience: Type.Optional(NullableString({ minLength: 1, maxLength: 2048 })),
  deploymentPolicy: Type.Optional(Type.Enum(DeploymentPolicies, { description: 'strict: only listed deployments; record: accept and record new ones' })),
  contentScope: Type.Optional(ContentScopeSchema),
  usePii: Type.Optional(Type.Boolean()),
  allowAnonymous: Type.Optional(Type.Boolean({ description: 'accept launches without sub' })),
  allowedAlgorithms: Type.Optional(Type.Array(Type.Enum(Lti13Algorithms), { minItems: 1, maxItems: Lti13Algorithms.length, uniqueItems: true })),
  allowedHosts: Type.Optional(HostListSchema),
  tokenMaxAge: Type.Optional(Type.Integer({ minimum: 30, maximum: 3600, description: 'maximum age of an id_token in seconds' })),
  lti11ConsumerId: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'the LTI 1.1 consumer this platform migrates from' })),
  active: Type.Optional(Type.Boolean())
}

export const RegistrationCreateSchema = Type.Object({
  name: NameString,
  issuer: Url,
  clientId: ClientId,
  authLoginUrl: Url,
  authTokenUrl: Url,
  jwksUrl: Url,
  deploymentIds: Type.Optional(Type.Array(DeploymentIdSchema, { maxItems: 100, uniqueItems: true })),
  ...optionalFields
}, { additionalProperties: false })
export type RegistrationCreate = Static<typeof RegistrationCreateSchema>

export const RegistrationUpdateSchema = Type.Object({
  name: Type.Optional(NameString),
  issuer: Type.Optional(Url),
  clientId: Type.Optional(ClientId),
  authLoginUrl: Type.Optional(Url),
  authTokenUrl: Type.Optional(Url),
  jwksUrl: Type.Optional(Url),
  ...optionalFields
}, { additionalProperties: false, minProperties: 1 })
export type RegistrationUpdate = Static<typeof RegistrationUpdateSchema>

export const DeploymentCreateSchema = Type.Object({ deploymentId: DeploymentIdSchema }, { additionalProperties: false })
export type DeploymentCreate = Static<typeof DeploymentCreateSchema>

export const DeploymentParamsSchema = Type.Object({ id: IdString, deploymentId: DeploymentIdSchema }, { additionalProperties: false })
export type DeploymentParams = Static<typeof DeploymentParamsSchema>

export const DeploymentSchema = Type.Object({
  deploymentId: Type.String(),
  source: Type.String({ description: 'admin | recorded (first seen at a launch) | registered (returned by Dynamic Registration)' }),
  createdAt: Timestamp
})
export type DeploymentView = Static<typeof DeploymentSchema>

export const ToolUrlsSchema = Type.Object({
  loginUrl: Type.String(),
  redirectUri: Type.String(),
  jwksUrl: Type.String(),
  targetLinkUriTemplate: Type.String(),
  /** Content selection (LTI Deep Linking 2.0): the target link URI of the platform's picker placement. */
  deepLinkingUrl: Type.String()
})

export const RegistrationSchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  issuer: Type.String(),
  clientId: Type.String(),
  authLoginUrl: Type.String(),
  authTokenUrl: Type.String(),
  authTokenAudience: NullableString(),
  jwksUrl: Type.String(),
  deploymentPolicy: Type.String(),
  contentScope: Type.Array(Type.String()),
  usePii: Type.Boolean(),
  allowAnonymous: Type.Boolean(),
  allowedAlgorithms: Type.Array(Type.String()),
  allowedHosts: Type.Array(Type.String()),
  tokenMaxAge: Type.Integer(),
  lti11ConsumerId: Type.Union([Type.Integer(), Type.Null()]),
  active: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  deployments: Type.Array(DeploymentSchema),
  tool: ToolUrlsSchema,
  /** Advice about a valid but probably unintended setting (an empty content scope). */
  warnings: Type.Optional(Type.Array(Type.String()))
})
export type RegistrationView = Static<typeof RegistrationSchema>

export const RegistrationListSchema = Type.Object({ registrations: Type.Array(RegistrationSchema) })
export type RegistrationList = Static<typeof RegistrationListSchema>
