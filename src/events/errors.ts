import { AppError, registerErrors } from '../errors.js'

/**
 * Why an event-bus message could not be turned into a score change. Statuses only matter if an admin
 * route ever shows one: 422 = the message itself is unusable, 503/502 = the Schema Registry is.
 *
 * The split that matters to the consumer is permanent vs transient (EVENT_ERROR_DISPOSITION below):
 * a permanent error is a poison message (dead letter with topic/partition/offset, then move on),
 * a transient one must be retried in place without resolving the offset, or events would be lost
 * while the registry is down or misconfigured.
 */
export const EventError = registerErrors({
  EVENT_MISSING_HEADER: [422, 'The event has no ce_type or ce_id header.'],
  EVENT_DUPLICATE_HEADER: [422, 'The event carries a metadata header more than once.'],
  EVENT_BAD_HEADER: [422, 'An event header value is not usable (not UTF-8, null or malformed).'],
  EVENT_BAD_MAGIC: [422, 'The event value does not start with the Confluent magic byte 0.'],
  EVENT_TRUNCATED: [422, 'The event value is shorter than its framing or Avro record says.'],
  EVENT_UNKNOWN_SCHEMA: [422, 'The Schema Registry does not know the schema id of the event.'],
  EVENT_SCHEMA_MISMATCH: [422, 'The writer schema of the event cannot be read as the weighted score schema.'],
  EVENT_BAD_PAYLOAD: [422, 'The Avro body of the event does not decode.'],
  EVENT_BAD_FIELD: [422, 'A field of the decoded event has an unusable value.'],
  EVENT_REGISTRY_UNAVAILABLE: [503, 'The Schema Registry could not be reached or gave an unusable answer.'],
  EVENT_REGISTRY_AUTH_FAILED: [502, 'The Schema Registry refused our credentials.']
})

export type EventErrorCode = keyof typeof EventError.codes

/**
 * `dead-letter`: the same bytes will fail the same way forever. `retry`: the failure is outside
 * the message (registry down, credentials being rotated); retrying later can succeed. Auth failures
 * retry on purpose: dead-lettering every event during a credential mistake would silently drop grades.
 */
export const EVENT_ERROR_DISPOSITION = {
  EVENT_MISSING_HEADER: 'dead-letter',
  EVENT_DUPLICATE_HEADER: 'dead-letter',
  EVENT_BAD_HEADER: 'dead-letter',
  EVENT_BAD_MAGIC: 'dead-letter',
  EVENT_TRUNCATED: 'dead-letter',
  EVENT_UNKNOWN_SCHEMA: 'dead-letter',
  EVENT_SCHEMA_MISMATCH: 'dead-letter',
  EVENT_BAD_PAYLOAD: 'dead-letter',
  EVENT_BAD_FIELD: 'dead-letter',
  EVENT_REGISTRY_UNAVAILABLE: 'retry',
  EVENT_REGISTRY_AUTH_FAILED: 'retry'
} as const satisfies Record<EventErrorCode, 'dead-letter' | 'retry'>

export type EventErrorDisposition = (typeof EVENT_ERROR_DISPOSITION)[EventErrorCode]

export function isEventError (err: unknown): err is AppError & { code: EventErrorCode } {
  return err instanceof AppError && Object.hasOwn(EVENT_ERROR_DISPOSITION, err.code)
}

/** True only for EVENT_* errors that must go to the dead-letter table. Anything else is not ours to judge. */
export function isPermanentEventError (err: unknown): boolean {
  return isEventError(err) && EVENT_ERROR_DISPOSITION[err.code] === 'dead-letter'
}

/** True only for EVENT_* errors that must be retried without resolving the offset. */
export function isTransientEventError (err: unknown): boolean {
  return isEventError(err) && EVENT_ERROR_DISPOSITION[err.code] === 'retry'
}
