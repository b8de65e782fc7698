import { randomUUID } from 'node:crypto'
import type { SecretBox } from '../../crypto/secret-box.js'
import type { OutboxClaims } from '../../db/outbox/claims.js'
import { isSupersededVersion } from '../../db/outbox/versions.js'
import { Scope } from '../../lti/claims.js'
import type { CompositeScorer } from '../composite-score.js'
import type { ClaimedJob, Lti11Target, Lti13Target, ScoreUpdate } from '../outbox-types.js'
import { leafScore } from '../passback-plan.js'
import type { AgsSender } from './ags-sender.js'
import { PassbackError } from './errors.js'
import type { Lti11OutcomeSender } from './lti11-outcome-sender.js'
import { agsScorePair, outcomeRatio } from './score-values.js'

/** AES-GCM context of `lti11_consumers.secret_enc` (the admin service seals with it). */
export const CONSUMER_SECRET_CONTEXT = 'lti11_consumers.secret'

export type DeliveryOutcome =
  /** `score`: set when it was computed now (composites), so the job row shows what was sent. */
  | { result: 'delivered', score?: ScoreUpdate | undefined, duplicate?: boolean | undefined }
  | { result: 'superseded', reason: string }

export interface JobDeliveryDeps {
  outbox: Pick<OutboxClaims, 'hasNewerJob' | 'loadLti11Target' | 'loadLti13Target' | 'currentVersion'>
  secretBox: Pick<SecretBox, 'open'>
  lti11: Lti11OutcomeSender
  ags: AgsSender
  /** Scores jobs queued without one (unit/subsection launches); absent → those jobs wait (transient). */
  composite?: Pick<CompositeScorer, 'computeComposite'> | undefined
  /** `imsx_messageIdentifier` per attempt. */
  messageId?: () => string
}

export interface JobDelivery {
  /** Sends one claimed job; resolves with what happened or throws a coded error for retry-policy.ts. */
  deliver (job: ClaimedJob, signal?: AbortSignal): Promise<DeliveryOutcome>
}

type Target = { kind: 'lti11', target: Lti11Target } | { kind: 'lti13', target: Lti13Target }

/**
 * One delivery: the version guards, the target's current facts, the score, the platform call.
 *
 * Version guards (event-bus.md §7): a job for which a newer job of the same target exists is never
 * sent (its score is stale). A job without a stored score (composite) also follows edx's guard
 * (src/db/outbox/versions.ts): it runs only if the target's `version_number` has not moved past the job's,
 * and the version is read again after the score is computed, so a change that arrives meanwhile wins.
 */
export function createJobDelivery (deps: JobDeliveryDeps): JobDelivery {
  const messageId = deps.messageId ?? randomUUID

  async function loadTarget (job: ClaimedJob): Promise<Target> {
    if (job.kind === 'lti11') {
      const target = job.gradedAssignmentId === null ? undefined : await deps.outbox.loadLti11Target(job.gradedAssignmentId)
      if (target === undefined) throw PassbackError('PASSBACK_TARGET_MISSING', { targetKey: job.targetKey })
      if (!target.consumer.active) throw PassbackError('PASSBACK_PLATFORM_INACTIVE', { consumerId: target.consumer.id })
      return { kind: 'lti11', target }
    }
    const target = job.gradedResourceId === null ? undefined : await deps.outbox.loadLti13Target(job.gradedResourceId)
    if (target === undefined) throw PassbackError('PASSBACK_TARGET_MISSING', { targetKey: job.targetKey })
    if (!target.registration.active) throw PassbackError('PASSBACK_PLATFORM_INACTIVE', { registrationId: target.registration.id })
    if (!target.scopes.includes(Scope.agsScore)) throw PassbackError('PASSBACK_SCOPE_NOT_GRANTED', { registrationId: target.registration.id })
    return { kind: 'lti13', target }
  }

  function stale (reason: string): DeliveryOutcome {
    return { result: 'superseded', reason }
  }

  return {
    async deliver (job, signal) {
      if (await deps.outbox.hasNewerJob(job.targetKey, job.version)) return stale('a newer version of this grade is queued')
      const loaded = await loadTarget(job)
      const { target } = loaded

      let score: ScoreUpdate
      let computed = false
      if (job.scoreGiven !== null && job.scoreMaximum !== null) {
        score = { scoreGiven: job.scoreGiven, scoreMaximum: job.scoreMaximum }
      } else {
        if (isSupersededVersion(target.versionNumber, job.version)) return stale(`the target is at version ${target.versionNumber}`)
        if (deps.composite === undefined) throw PassbackError('PASSBACK_COMPOSITE_UNAVAILABLE', { method: job.method })
        const block = await deps.composite.computeComposite({
          lmsUserId: target.lmsUserId,
          lmsUsername: target.lmsUsername,
          courseKey: target.courseKey,
          usageKey: target.usageKey
        })
        if (!Number.isFinite(block.earned) || !Number.isFinite(block.possible)) throw PassbackError('PASSBACK_SCORE_MISSING', { method: job.method })
        // The same (given, maximum) rule as leaf jobs and resync: earned clamped into 0..possible, 0/0 when nothing is possible.
        score = leafScore({ weightedEarned: block.earned, weightedPossible: block.possible, scoreDeleted: false })
        const current = await deps.outbox.currentVersion(job.targetKey)
        if (isSupersededVersion(current, job.version)) return stale(current === undefined ? 'the target was removed' : `the target is at version ${current}`)
        computed = true
      }

      if (loaded.kind === 'lti11') {
        const t = loaded.target
        await deps.lti11.send({
          outcomeUrl: t.outcomeUrl,
          sourcedId: t.sourcedId,
          consumerKey: t.consumer.consumerKey,
          consumerSecret: deps.secretBox.open(t.consumer.secretEnc, CONSUMER_SECRET_CONTEXT),
          allowedHosts: t.consumer.outcomeHosts,
          score: outcomeRatio(score.scoreGiven, score.scoreMaximum),
          messageIdentifier: messageId(),
          signal
        })
        return { result: 'delivered', score: computed ? score : undefined }
      }

      const t = loaded.target
      const pair = agsScorePair(score.scoreGiven, score.scoreMaximum)
      const answer = await deps.ags.send({
        registration: {
          id: t.registration.id,
          clientId: t.registration.clientId,
          authTokenUrl: t.registration.authTokenUrl,
          authTokenAudience: t.registration.authTokenAudience,
          allowedHosts: registrationHosts(t.registration.issuer, t.registration.allowedHosts)
        },
        lineitemUrl: t.lineitemUrl,
        userId: t.sub,
        scoreGiven: pair.scoreGiven,
        scoreMaximum: pair.scoreMaximum,
        eventTimeUs: job.eventTimeUs,
        signal
      })
      if (answer.result === 'superseded') return stale(answer.reason)
      return { result: 'delivered', score: computed ? score : undefined, duplicate: answer.duplicate }
    }
  }
}

/** Hosts a registration's token and line item URLs may be on: the issuer's host plus the admin's list. */
export function registrationHosts (issuer: string, allowedHosts: readonly string[]): string[] {
  const hosts = [...allowedHosts]
  try {
    hosts.unshift(new URL(issuer).hostname)
  } catch {
    // An issuer that is not a URL names no host; only the configured list applies.
  }
  return hosts
}
