/**
 * The end of every launch, LTI 1.1 and 1.3 alike, once the protocol checks passed and the version
 * has looked the learner's mapping up:
 *
 *   LMS account (the mapping's, an inherited one, else a new one over REST) → enrollment (REST)
 *   → ONE transaction (what the version records; the mapping itself on a first launch)
 *   → concurrent-first-launch recovery (src/launch/retry-policy.ts) → unused-account log
 *   → new-learner notice → session handoff.
 *
 * LMS calls run before the transaction, so an LMS failure leaves no rows (at worst an unused LMS
 * account, logged with its id for the operator).
 */
import type { Knex } from 'knex'
import type { FastifyBaseLogger } from 'fastify'
import type { LmsAccountRef } from '../lms/lms-types.js'
import type { AccountResolver, NewAccountRequest } from './account-resolver.js'
import { launchError } from './errors.js'
import type { Handoff, HandoffResponse, HandoffTarget } from './handoff.js'
import { isLaunchWriteConflict, LAUNCH_WRITE_ROUNDS } from './retry-policy.js'

/** A stored mapping of an LTI identity (LTI 1.1 user or LTI 1.3 profile) to its LMS account. */
export interface MappedAccount extends LmsAccountRef { id: number }

export interface LaunchTailDeps {
  knex: Knex
  accounts: AccountResolver
  handoff: Handoff
  log: FastifyBaseLogger
  onNewLearner?: ((lmsUserId: number) => void) | undefined
}

export interface LaunchTailInput<M extends MappedAccount> {
  /** 'LTI 1.1' or 'LTI 1.3', for the log lines. */
  version: string
  /** Names the consumer or registration in the log lines. */
  logFields: Record<string, unknown>
  /** The learner's mapping as read before any LMS call; undefined on a first launch. */
  mapped: M | undefined
  /** A first launch's account known without creating one (the LTI 1.1 → 1.3 migration). */
  inherited?: LmsAccountRef | undefined
  /** What a first launch creates the LMS account with, when nothing is mapped or inherited. */
  newAccount: NewAccountRequest
  courseKey: string
  usageKey: string
  /** A mapped learner whose stored rows already say what this launch would record: no write transaction. */
  unchanged: boolean
  /** Everything the launch records, inside `trx`; inserts the mapping when `mapped` is undefined. */
  record: (trx: Knex.Transaction, mapped: M | undefined, account: LmsAccountRef) => Promise<void>
  /** The mapping as committed now: after a conflict, the concurrent first launch's. */
  findMapping: () => Promise<M | undefined>
  /** Told what the launch became, just before the handoff (the version's launch log line). */
  announce: (outcome: LaunchTailOutcome) => void
  /** The handoff's protocol fields; the tail adds the account and the content. */
  target: Omit<HandoffTarget, 'account' | 'courseKey' | 'usageKey'>
}

export interface LaunchTailOutcome {
  account: LmsAccountRef
  /** True when this launch mapped the learner for the first time (its mapping won). */
  newLearner: boolean
}

export async function runLaunchTail<M extends MappedAccount> (deps: LaunchTailDeps, input: LaunchTailInput<M>): Promise<LaunchTailOutcome & { response: HandoffResponse }> {
  let mapped = input.mapped
  let account: LmsAccountRef = mapped ?? input.inherited ?? await deps.accounts.createAccount(input.newAccount)
  let newLearner = mapped === undefined
  const createdLmsUserId = mapped === undefined && input.inherited === undefined ? account.lmsUserId : undefined
  const skipWrite = mapped !== undefined && input.unchanged
  try {
    await deps.accounts.ensureEnrolled(account, input.courseKey)
    for (let round = 1; !skipWrite; round++) {
      try {
        await deps.knex.transaction(async trx => { await input.record(trx, mapped, account) })
        break
      } catch (err) {
        if (!isLaunchWriteConflict(err)) throw err
        if (round === LAUNCH_WRITE_ROUNDS) throw launchError('LAUNCH_ACCOUNT_UNAVAILABLE', undefined, { cause: err })
        // The same learner's first launch ran in parallel and mapped first: keep its account (ours,
        // if we created one, stays unused in the LMS) and write the rest on its mapping.
        const winner = await input.findMapping()
        if (winner !== undefined && winner.id !== mapped?.id) {
          if (mapped === undefined) deps.log.warn({ ...input.logFields, orphanLmsUserId: account.lmsUserId }, `concurrent first ${input.version} launch: keeping the other mapping`)
          mapped = winner
          account = winner
          newLearner = false
        }
      }
    }
  } catch (err) {
    if (createdLmsUserId !== undefined) deps.log.warn({ ...input.logFields, unusedLmsUserId: createdLmsUserId, code: (err as { code?: unknown }).code }, `${input.version} first launch failed after the LMS account was created: the account stays unused`)
    throw err
  }
  if (newLearner) deps.onNewLearner?.(account.lmsUserId)

  input.announce({ account, newLearner })
  const response = await deps.handoff.respond({ ...input.target, account, courseKey: input.courseKey, usageKey: input.usageKey })
  return { response, account, newLearner }
}
