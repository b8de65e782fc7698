/** Admin API: one-time LTI Dynamic Registration invites (issue 15). */
import { Type, type Static } from 'typebox'
import { ContentScopeSchema, HostListSchema, Timestamp } from './admin-common.js'

export const INVITE_DEFAULT_SECONDS = 24 * 3600
export const INVITE_MAX_SECONDS = 30 * 24 * 3600

export const InviteCreateSchema = Type.Object({
  expiresInSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: INVITE_MAX_SECONDS, description: 'lifetime of the invite (default 24 h, at most 30 days)' })),
  contentScope: Type.Optional(ContentScopeSchema),
  autoActivate: Type.Optional(Type.Boolean({ description: 'the new registration accepts launches at once (default: waits for an admin)' })),
  allowedHosts: Type.Optional(HostListSchema)
}, { additionalProperties: false })
export type InviteCreate = Static<typeof InviteCreateSchema>

/** The answer to a create: the only time the invite URL (its secret) is shown. */
export const InviteCreatedSchema = Type.Object({
  id: Type.Integer(),
  url: Type.String(),
  expiresAt: Timestamp
})
export type InviteCreated = Static<typeof InviteCreatedSchema>

export const InviteStatuses = ['pending', 'used', 'expired'] as const

export const InviteSchema = Type.Object({
  id: Type.Integer(),
  status: Type.Enum(InviteStatuses),
  contentScope: Type.Array(Type.String()),
  allowedHosts: Type.Array(Type.String()),
  autoActivate: Type.Boolean(),
  expiresAt: Timestamp,
  usedAt: Type.Union([Timestamp, Type.Null()]),
  registrationId: Type.Union([Type.Integer(), Type.Null()]),
  /** Whether the registration made through the invite accepts launches now (null before use). */
  registrationActive: Type.Union([Type.Boolean(), Type.Null()]),
  warnings: Type.Array(Type.String()),
  createdAt: Timestamp
})
export type InviteView = Static<typeof InviteSchema>

export const InviteListSchema = Type.Object({ invites: Type.Array(InviteSchema) })
