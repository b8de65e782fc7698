/** Pieces shared by the admin API route schemas. */
import { Type, type Static } from 'typebox'
import { MAX_SCOPE_PATTERN_LENGTH, MAX_SCOPE_PATTERNS } from '../../src/admin/content-scope-rule.js'

/** The root error handler's JSON body (src/routes/error-handler.ts). */
export const ErrorResponseSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  requestId: Type.String(),
  details: Type.Optional(Type.Object({}, { additionalProperties: true }))
})
export type ErrorResponse = Static<typeof ErrorResponseSchema>

/** Every admin route may answer these (auth and validation run before any handler). */
export const CommonErrorResponses = {
  400: ErrorResponseSchema,
  401: ErrorResponseSchema,
  403: ErrorResponseSchema
} as const

/** Path ids are strings (Ajv does not coerce); the pattern keeps them positive integers. */
export const IdString = Type.String({ pattern: '^[1-9][0-9]{0,14}$', description: 'positive integer id' })
export const IdParamsSchema = Type.Object({ id: IdString }, { additionalProperties: false })
export type IdParams = Static<typeof IdParamsSchema>

export const Timestamp = Type.String({ description: 'ISO 8601 time (UTC)' })

export const NullableString = (opts: { minLength?: number, maxLength?: number } = {}) =>
  Type.Union([Type.String(opts), Type.Null()])

/** Patterns over course and usage keys; empty = nothing launchable. The pattern rule (src/lti/content-scope.ts) runs in the service. */
export const ContentScopeSchema = Type.Array(Type.String({ minLength: 1, maxLength: MAX_SCOPE_PATTERN_LENGTH }), {
  maxItems: MAX_SCOPE_PATTERNS, uniqueItems: true, description: 'patterns over Open edX course and usage keys, e.g. course-v1:MITx+*'
})

/** Host names or `*.suffix` patterns (src/http/host-allow-list.ts); checked by the service. */
export const HostListSchema = Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 100, uniqueItems: true })

/** A single-line name without leading or trailing spaces. */
export const NameString = Type.String({ minLength: 1, maxLength: 255, pattern: '^\\S(?:.*\\S)?$' })

export const NoContentSchema = Type.Null({ description: 'no body' })
