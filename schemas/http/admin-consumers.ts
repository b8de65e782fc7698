/** Admin API: LTI 1.1 consumers. The secret is write-only: bodies accept it, responses never carry it. */
import { Type, type Static } from 'typebox'
import { ContentScopeSchema, HostListSchema, NameString, NullableString, Timestamp } from './admin-common.js'

export const Lti11SignatureMethods = ['HMAC-SHA1', 'HMAC-SHA256'] as const
export type Lti11SignatureMethodName = typeof Lti11SignatureMethods[number]

const SignatureMethodSchema = Type.Enum(Lti11SignatureMethods)

/** Consumer keys go on the wire as `oauth_consumer_key`: printable, no surrounding spaces. */
const ConsumerKey = Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e](?:[\\x20-\\x7e]*[\\x21-\\x7e])?$' })

const optionalFields = {
  instanceGuid: Type.Optional(NullableString({ minLength: 1, maxLength: 255 })),
  contentScope: Type.Optional(ContentScopeSchema),
  usePii: Type.Optional(Type.Boolean({ description: 'ask the consumer for names and emails (otherwise synthetic accounts)' })),
  requireUserAccount: Type.Optional(Type.Boolean({ description: 'the learner must already have an LMS account' })),
  outcomeHosts: Type.Optional(HostListSchema),
  pinOutcomeHost: Type.Optional(Type.Boolean({ description: 'with no outcomeHosts, pin the first outcome host a launch names' })),
  signatureMethods: Type.Optional(Type.Array(SignatureMethodSchema, { maxItems: 2, uniqueItems: true, description: 'HMAC-SHA1 is always allowed' })),
  timestampWindow: Type.Optional(Type.Integer({ minimum: 30, maximum: 3600, description: '± seconds accepted for oauth_timestamp' })),
  active: Type.Optional(Type.Boolean())
}

export const ConsumerCreateSchema = Type.Object({
  name: NameString,
  key: ConsumerKey,
  secret: Type.String({ minLength: 1, maxLength: 1024 }),
  ...optionalFields
}, { additionalProperties: false })
export type ConsumerCreate = Static<typeof ConsumerCreateSchema>

export const ConsumerUpdateSchema = Type.Object({
  name: Type.Optional(NameString),
  key: Type.Optional(ConsumerKey),
  secret: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  ...optionalFields
}, { additionalProperties: false, minProperties: 1 })
export type ConsumerUpdate = Static<typeof ConsumerUpdateSchema>

export const ConsumerSchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  key: Type.String(),
  hasSecret: Type.Boolean(),
  instanceGuid: NullableString(),
  contentScope: Type.Array(Type.String()),
  usePii: Type.Boolean(),
  requireUserAccount: Type.Boolean(),
  outcomeHosts: Type.Array(Type.String()),
  pinOutcomeHost: Type.Boolean(),
  signatureMethods: Type.Array(Type.String()),
  timestampWindow: Type.Integer(),
  active: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  /** Advice about a valid but probably unintended setting (an empty content scope). */
  warnings: Type.Optional(Type.Array(Type.String()))
})
export type ConsumerView = Static<typeof ConsumerSchema>

export const ConsumerListSchema = Type.Object({ consumers: Type.Array(ConsumerSchema) })
export type ConsumerList = Static<typeof ConsumerListSchema>
