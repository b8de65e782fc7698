/**
 * Names of the one event we read (event-bus.md §2, §4.2). The event type is not defined upstream:
 * a deployment may republish it under a private reverse-DNS prefix, so every function that depends
 * on it takes the type as a parameter and defaults to this one.
 */
export const WEIGHTED_SCORE_CHANGED_EVENT_TYPE = 'org.openedx.learning.problem.weighted_score.changed.v1'

/** Topic base name; the full topic is `${EVENT_BUS_TOPIC_PREFIX}-${base}` (or the base alone). */
export const WEIGHTED_SCORE_CHANGED_TOPIC_BASE = 'learning-problem-score-lifecycle'

/** The vendored reader schema, named as in openedx-events. */
export const WEIGHTED_SCORE_CHANGED_SCHEMA_FILE = 'org+openedx+learning+problem+weighted_score+changed+v1_schema.avsc'

/** Open edX topic naming: prefix joined with `-`, no prefix = the base alone. */
export function fullTopicName (prefix: string, base: string = WEIGHTED_SCORE_CHANGED_TOPIC_BASE): string {
  return prefix ? `${prefix}-${base}` : base
}
