/** Admin API: the grade passback outbox. */
import { Type, type Static } from 'typebox'
import { PassbackStatuses, RetryableStatuses } from '../../src/grades/outbox-types.js'
import { IdString, NullableString, Timestamp } from './admin-common.js'

/** The outbox vocabulary is the table's (src/grades/outbox-types.ts). */
export const PassbackStatusValues = PassbackStatuses
export const RetryableStatusValues = RetryableStatuses

/** Query values arrive as strings (Ajv does not coerce): numbers are patterns here, parsed by the service. */
export const PassbackListQuerySchema = Type.Object({
  status: Type.Optional(Type.Enum(PassbackStatusValues)),
  consumerId: Type.Optional(IdString),
  registrationId: Type.Optional(IdString),
  limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$', description: '1..500, default 50' })),
  before: Type.Optional(IdString)
}, { additionalProperties: false })
export type PassbackListQuery = Static<typeof PassbackListQuerySchema>

/** The service's own input (the CLI passes numbers). */
export const PassbackListInputSchema = Type.Object({
  status: Type.Optional(Type.Enum(PassbackStatusValues)),
  consumerId: Type.Optional(Type.Integer({ minimum: 1 })),
  registrationId: Type.Optional(Type.Integer({ minimum: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  before: Type.Optional(Type.Integer({ minimum: 1 }))
}, { additionalProperties: false })
export type PassbackListInput = Static<typeof PassbackListInputSchema>

export const BulkRetrySchema = Type.Object({
  status: Type.Optional(Type.Enum(RetryableStatusValues, { description: 'which jobs to requeue; default dead' })),
  consumerId: Type.Optional(Type.Integer({ minimum: 1 })),
  registrationId: Type.Optional(Type.Integer({ minimum: 1 }))
}, { additionalProperties: false })
export type BulkRetry = Static<typeof BulkRetrySchema>

export const PassbackSchema = Type.Object({
  id: Type.Integer(),
  kind: Type.String({ description: 'lti11 | lti13' }),
  status: Type.String(),
  targetKey: Type.String(),
  version: Type.Integer(),
  method: Type.String(),
  scoreGiven: Type.Union([Type.Number(), Type.Null()]),
  scoreMaximum: Type.Union([Type.Number(), Type.Null()]),
  platformHost: Type.String(),
  attempts: Type.Integer(),
  lastError: NullableString(),
  dueAt: Timestamp,
  deliveredAt: Type.Union([Timestamp, Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  consumerId: Type.Union([Type.Integer(), Type.Null()]),
  registrationId: Type.Union([Type.Integer(), Type.Null()]),
  courseKey: NullableString(),
  usageKey: NullableString()
})
export type PassbackView = Static<typeof PassbackSchema>

export const PassbackListSchema = Type.Object({
  passbacks: Type.Array(PassbackSchema),
  /** Pass as `before` for the next page; null on the last page. */
  nextBefore: Type.Union([Type.Integer(), Type.Null()])
})
export type PassbackList = Static<typeof PassbackListSchema>

export const BulkRetryResultSchema = Type.Object({ retried: Type.Integer(), skippedStale: Type.Integer() })
export type BulkRetryResult = Static<typeof BulkRetryResultSchema>
