/**
 * The LTI 1.1 launch, after the route handed over the raw request: the order matters and each
 * step throws its own code.
 *
 *   content keys (path) → consumer by key → signature, clock, parameters → nonce recorded
 *   → consumer active → content scope → outcome host policy → LMS configured → mapping lookup
 *   (account link required?) → the shared tail (src/launch/launch-tail.ts): LMS account (REST;
 *   created on first launch) → enrollment → one transaction: identity map, instance GUID,
 *   outcome target → session handoff.
 *
 * Nothing is written before the signature holds. LMS calls happen before the transaction, so an
 * LMS failure leaves no partial rows (at worst an unused LMS account, logged).
 */
import type { Knex } from 'knex'
import type { FastifyBaseLogger } from 'fastify'
import { authenticateLti11Launch } from '../../lti/v11/launch-auth.js'
import { parseLaunchContent } from '../../lti/content-keys.js'
import { assertInContentScope, compileContentScope } from '../../lti/content-scope.js'
import type { ParamInput } from '../../lti/v11/request-params.js'
import type { SecretBox } from '../../crypto/secret-box.js'
import { createLti11ConsumersRepository, type Lti11Consumer } from '../../db/repositories/lti11-consumers-repository.js'
import { createLtiUsersRepository } from '../../db/repositories/lti-users-repository.js'
import { createOAuthNoncesRepository } from '../../db/repositories/oauth-nonces-repository.js'
import { createOutcomeTargetsRepository } from '../../db/outbox/outcome-targets.js'
import type { AccountResolver } from '../account-resolver.js'
import type { Handoff, HandoffResponse } from '../handoff.js'
import { runLaunchTail } from '../launch-tail.js'
import { launchError } from '../errors.js'
import { checkOutcomeUrl } from './outcome-url.js'
import type { ConsumerBudget } from '../../limits/consumer-budget.js'
import { refuseIfRemovedDuringLaunch } from '../removed-during-launch.js'

/**
 * How long an instance may launch with a consumer as it was read (the bound within which an admin
 * change made through ANOTHER instance, or the CLI, takes effect here; changes made through this
 * instance's admin API take effect at once, see `forgetConsumers`).
 */
export const CONSUMER_CACHE_MS = 2000

export const CONSUMER_SECRET_CONTEXT = 'lti11_consumers.secret'

export interface Lti11LaunchRequest {
  rawPath: string
  courseId: string
  usageId: string
  body: ParamInput
  /** Per-consumer launch budget (src/limits/consumer-budget.ts); the route binds it, tests may omit it. */
  budget?: ConsumerBudget | undefined
}

export interface Lti11LaunchDeps {
  knex: Knex
  secretBox: SecretBox
  publicUrl: string
  allowLoopbackHttp: boolean
  /** undefined when LMS_URL is not configured. */
  accounts: AccountResolver | undefined
  handoff: Handoff | undefined
  log: FastifyBaseLogger
  /** Called when a learner is mapped for the first time (the event consumer's relevance set). */
  onNewLearner?: (lmsUserId: number) => void
  now?: () => Date
  /** Default CONSUMER_CACHE_MS. */
  consumerCacheMs?: number
}

export interface Lti11LaunchResult {
  response: HandoffResponse
  consumerId: number
  lmsUserId: number
  newLearner: boolean
  outcomeTarget: boolean
}

export function createLti11LaunchService (deps: Lti11LaunchDeps) {
  const consumers = createLti11ConsumersRepository(deps.knex)
  const users = createLtiUsersRepository(deps.knex)
  const nonces = createOAuthNoncesRepository(deps.knex)
  const outcomes = createOutcomeTargetsRepository(deps.knex)
  const now = deps.now ?? (() => new Date())
  // Secrets are opened once per consumer version, not once per launch (AES-GCM costs little, but
  // the launch path is hot); keyed by the sealed value, so an admin change is picked up at once.
  const secretCache = new Map<string, string>()
  let launchesSincePurge = 0
  // Consumers change rarely and are read on every launch: a short cache (CONSUMER_CACHE_MS, so a
  // disabled consumer or a new secret takes effect at once for people) keeps the lookup off the database.
  const consumerCacheMs = deps.consumerCacheMs ?? CONSUMER_CACHE_MS
  const consumerCache = new Map<string, { at: number, consumer: Lti11Consumer | undefined }>()
  async function findConsumer (key: string): Promise<Lti11Consumer | undefined> {
    const at = Date.now()
    const hit = consumerCache.get(key)
    if (hit && at - hit.at < consumerCacheMs) return hit.consumer
    const consumer = await consumers.findByKey(key)
    if (consumerCache.size > 10_000) consumerCache.clear()
    consumerCache.set(key, { at, consumer })
    return consumer
  }

  function openSecret (sealed: string): string {
    let secret = secretCache.get(sealed)
    if (secret === undefined) {
      secret = deps.secretBox.open(sealed, CONSUMER_SECRET_CONTEXT)
      if (secretCache.size > 10_000) secretCache.clear()
      secretCache.set(sealed, secret)
    }
    return secret
  }

  async function purgeNoncesNowAndThen (at: number): Promise<void> {
    // Expired nonces are useless; sweeping every 1,000 launches keeps the table at the window's size.
    if (++launchesSincePurge < 1000) return
    launchesSincePurge = 0
    try {
      await nonces.purgeExpired(at)
    } catch (err) {
      deps.log.warn({ err }, 'nonce purge failed')
    }
  }

  return {
    /** An admin changed consumers through this instance: the next launch reads them again. */
    forgetConsumers (): void {
      consumerCache.clear()
    },
    async launch (req: Lti11LaunchRequest): Promise<Lti11LaunchResult> {
      return await refuseIfRemovedDuringLaunch('LAUNCH_CONSUMER_REMOVED', async () => await launchOnce(req))
    }
  }

  async function launchOnce (req: Lti11LaunchRequest): Promise<Lti11LaunchResult> {
    { // (a block, so the steps keep the indentation they had inside `launch`)
      const content = parseLaunchContent(req.courseId, req.usageId)
      const courseKey = content.course.key
      const usageKey = content.usage.key

      const { consumer, launch, verified } = await authenticateLti11Launch<Lti11Consumer & { secret: string, timestampWindowSeconds: number }>(
        { method: 'POST', rawPath: req.rawPath, body: req.body },
        {
          publicUrl: deps.publicUrl,
          now,
          findConsumer: async key => {
            const c = await findConsumer(key)
            return c ? { ...c, secret: openSecret(c.secretEnc), timestampWindowSeconds: c.timestampWindow } : undefined
          },
          // The budget is checked once the signature held, before the nonce is written, and spent only by a
          // fresh nonce: forged signatures and replayed forms cannot spend a consumer's budget.
          recordNonce: async (c, record) => {
            req.budget?.check(c.id)
            const fresh = await nonces.record(c.id, record.nonce, record.expiresAt.getTime())
            if (fresh) req.budget?.spend(c.id)
            return fresh
          }
        }
      )
      const at = now().getTime()
      void purgeNoncesNowAndThen(at)
      if (!consumer.active) throw launchError('LAUNCH_CONSUMER_INACTIVE')
      assertInContentScope(compileContentScope(consumer.contentScope), courseKey, usageKey)

      const outcome = launch.lisOutcomeServiceUrl && launch.lisResultSourcedid
        ? checkOutcomeUrl(launch.lisOutcomeServiceUrl, consumer, { allowLoopbackHttp: deps.allowLoopbackHttp })
        : undefined

      if (!deps.accounts || !deps.handoff) throw launchError('LAUNCH_LMS_NOT_CONFIGURED')

      const known = await users.findWithAssignment(consumer.id, launch.userId, usageKey)
      const mapped = known?.user
      const guidChanged = Boolean(launch.toolConsumerInstanceGuid && launch.toolConsumerInstanceGuid !== consumer.instanceGuid)
      if (mapped === undefined && consumer.requireUserAccount) throw launchError('LAUNCH_ACCOUNT_LINK_REQUIRED', { consumerId: consumer.id })

      const { response, account, newLearner } = await runLaunchTail({ knex: deps.knex, accounts: deps.accounts, handoff: deps.handoff, log: deps.log, onNewLearner: deps.onNewLearner }, {
        version: 'LTI 1.1',
        logFields: { consumerId: consumer.id },
        mapped,
        newAccount: {
          usePii: consumer.usePii,
          name: launch.person.nameFull ?? ([launch.person.nameGiven, launch.person.nameFamily].filter(Boolean).join(' ') || undefined),
          email: launch.person.contactEmailPrimary
        },
        courseKey,
        usageKey,
        // A returning learner re-opening the same link changes nothing: skip the write transaction.
        unchanged: !guidChanged && (outcome === undefined || (!outcome.pin && known?.assignment?.sourcedid === launch.lisResultSourcedid && known?.assignment?.outcomeUrl === outcome.url)),
        findMapping: async () => await users.find(consumer.id, launch.userId),
        // On InnoDB two first launches of one learner can deadlock here: both insert the mapping and
        // update the consumer row (the tail's retry policy runs the whole write again).
        record: async (trx, user, lmsAccount) => {
          const ltiUserRowId = user?.id ?? await users.insert(consumer.id, launch.userId, lmsAccount, at, trx)
          if (guidChanged) {
            // Recorded only now, after the signature held (edx's get_or_supplement wrote before verifying).
            if (consumer.instanceGuid) {
              deps.log.warn({ event: 'lti11_instance_guid_changed', consumerId: consumer.id }, 'LTI 1.1 consumer instance GUID changed')
            }
            await consumers.update(consumer.id, { instanceGuid: launch.toolConsumerInstanceGuid!, updatedAt: at }, trx)
            consumerCache.delete(consumer.consumerKey)
          }
          if (outcome) {
            if (outcome.pin) {
              await consumers.update(consumer.id, { outcomeHosts: [outcome.host], updatedAt: at }, trx)
              consumerCache.delete(consumer.consumerKey)
            }
            const serviceId = await outcomes.upsertOutcomeService(consumer.id, outcome.url, at, trx)
            await outcomes.upsertGradedAssignment({
              ltiUserId: ltiUserRowId, outcomeServiceId: serviceId, lmsUserId: lmsAccount.lmsUserId, courseKey, usageKey, sourcedid: launch.lisResultSourcedid!
            }, at, trx)
          }
        },
        announce: ({ newLearner }) => {
          deps.log.info({ event: 'lti11_launch', consumerId: consumer.id, courseKey, usageKey, newLearner, outcome: Boolean(outcome), skew: verified.skewSeconds }, 'LTI 1.1 launch')
        },
        target: {
          roles: launch.roles,
          contextId: launch.contextId,
          resourceLinkId: launch.resourceLinkId,
          fullName: consumer.usePii ? launch.person.nameFull : undefined
        }
      })
      return { response, consumerId: consumer.id, lmsUserId: account.lmsUserId, newLearner, outcomeTarget: Boolean(outcome) }
    }
  }
}

export type Lti11LaunchService = ReturnType<typeof createLti11LaunchService>
