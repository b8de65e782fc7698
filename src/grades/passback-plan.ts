import type { GradedTarget, NewPassbackJob, PassbackMethod } from './outbox-types.js'
import { blockTypeOf } from '../lms/opaque-keys.js'

/** One problem's score change, as the pipeline reads it from the event. */
export interface ScoreChangeFacts {
  usageKey: string
  weightedEarned: number
  weightedPossible: number
  scoreDeleted: boolean
  /** The event's `modified`, epoch µs. */
  modifiedUs: number
  ceId: string
}

export interface PlanOptions {
  /** Epoch ms. */
  now: number
  /** LTI_AGGREGATE_SCORE_PASSBACK_DELAY in ms: composites wait so a burst of changes sends once. */
  compositeDelayMs: number
}

/**
 * The score a leaf job carries (event-bus.md §7, §8). The delivery side sends
 * `ratio = scoreMaximum > 0 ? scoreGiven / scoreMaximum : 0`, edx's rule, so:
 * - `score_deleted` (a submissions reset, 0/0) → 0 of the stated possible: ratio 0, like edx;
 * - possible ≤ 0 (a zero-weight problem) → 0/0: ratio 0, like edx;
 * - otherwise earned/possible, earned clamped into [0, possible] so the ratio stays in 0..1,
 *   the only range LTI 1.1 `replaceResult` accepts.
 */
export function leafScore (change: Pick<ScoreChangeFacts, 'weightedEarned' | 'weightedPossible' | 'scoreDeleted'>): { scoreGiven: number, scoreMaximum: number } {
  const possible = change.weightedPossible
  if (!(possible > 0)) return { scoreGiven: 0, scoreMaximum: 0 }
  if (change.scoreDeleted) return { scoreGiven: 0, scoreMaximum: possible }
  return { scoreGiven: Math.min(Math.max(change.weightedEarned, 0), possible), scoreMaximum: possible }
}

/** edx's ratio, for whoever turns a (given, maximum) pair into one number. */
export function scoreRatio (given: number, maximum: number): number {
  return maximum > 0 ? given / maximum : 0
}

/**
 * How a launch on a container is scored later: `subsection` for a sequential (the LMS's subsection
 * grade), `unit` for any other container (vertical, chapter, library content…), whose score
 * composite-score.ts sums from its descendants.
 */
export function compositeMethodFor (usageKey: string): Extract<PassbackMethod, 'unit' | 'subsection'> {
  return blockTypeOf(usageKey) === 'sequential' ? 'subsection' : 'unit'
}

/** `host[:port]` of the outcome service / line item URL: the delivery side limits concurrency per host. */
export function platformHostOf (url: string): string {
  try {
    return new URL(url).host.toLowerCase().slice(0, 255)
  } catch {
    return ''
  }
}

/**
 * The jobs one score change creates: per matched target, a leaf job due now when the launch was on
 * the problem itself, else a composite due after the delay with no score (computed when due, and
 * dropped if a newer version exists by then). `versions` holds each target's bumped version.
 */
export function planPassbacks (
  change: ScoreChangeFacts,
  targets: readonly GradedTarget[],
  versions: ReadonlyMap<string, number>,
  options: PlanOptions
): NewPassbackJob[] {
  return targets.map(target => {
    const version = versions.get(target.targetKey)
    if (version === undefined) throw new Error(`no bumped version for ${target.targetKey}`)
    const leaf = target.usageKey === change.usageKey
    const score = leaf ? leafScore(change) : { scoreGiven: null, scoreMaximum: null }
    return {
      kind: target.kind,
      gradedAssignmentId: target.kind === 'lti11' ? target.id : null,
      gradedResourceId: target.kind === 'lti13' ? target.id : null,
      targetKey: target.targetKey,
      version,
      method: leaf ? 'leaf' : compositeMethodFor(target.usageKey),
      scoreGiven: score.scoreGiven,
      scoreMaximum: score.scoreMaximum,
      eventTimeUs: change.modifiedUs,
      ceId: change.ceId,
      platformHost: platformHostOf(target.platformUrl),
      dueAt: leaf ? options.now : options.now + options.compositeDelayMs
    }
  })
}
