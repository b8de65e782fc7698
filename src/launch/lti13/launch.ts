/**
 * The LTI 1.3 launch, after the route handed over the form post. The order matters and each step
 * throws its own code:
 *
 *   binding (cookie, else platform storage: first answer a page that reads it and posts again)
 *   → id_token pipeline (src/lti/v13/launch-validator.ts: state → format → registration →
 *     signature → iss/aud/azp/time → nonce → deployment → message claims)
 *   → content keys → content scope → AGS line item host → LMS configured
 *   → LTI 1.1 migration claim (when the registration links a 1.1 consumer)
 *   → identity: profile, else the migrated 1.1 account
 *   → the shared tail (src/launch/launch-tail.ts): else a new LMS account (REST) → enrollment
 *     (REST) → ONE transaction: recorded deployment, profile, graded resource → new-learner hook
 *     → session handoff.
 *
 * Only the state is consumed before the pipeline ends; every check that needs no LMS call runs
 * before the first LMS call; LMS calls run before the transaction, so a refusal or an LMS failure
 * leaves no rows (at worst an unused LMS account, logged).
 *
 * Anonymous launches (no `sub`, only where the registration allows them) have no identity to map:
 * no account, profile, enrollment or grade target is created, and the browser is sent to the
 * block's `jump_to` URL on the LMS, which shows public content or asks the learner to sign in.
 */
import { createHash } from 'node:crypto'
import type { Knex } from 'knex'
import type { FastifyBaseLogger } from 'fastify'
import { courseKeyOfUsage, parseLaunchContent } from '../../lti/content-keys.js'
import { assertInContentScope, compileContentScope } from '../../lti/content-scope.js'
import type { JwksCache } from '../../lti/v13/jwks-cache.js'
import { validateMessage } from '../../lti/v13/launch-validator.js'
import { MessageType } from '../../lti/claims.js'
import type { Lti13Launch } from '../../lti/v13/lti13-launch.js'
import { renderLaunchStoragePage } from '../../lti/v13/platform-storage-page.js'
import { verifyStateToken } from '../../lti/v13/state-token.js'
import type { VerifiedState } from '../../lti/v13/launch-steps/check-state.js'
import { toolUrls } from '../../lti/v13/tool-urls.js'
import { createGradedResourcesRepository } from '../../db/outbox/graded-resources.js'
import { createLtiProfilesRepository, type LtiProfile, type StoredResource } from '../../db/repositories/lti-profiles-repository.js'
import type { LmsAccountRef } from '../../lms/lms-types.js'
import type { Lti13RegistrationRecord } from '../../db/repositories/lti13-registrations-repository.js'
import { createOidcStatesRepository } from '../../db/repositories/oidc-states-repository.js'
import { launchError } from '../errors.js'
import type { AccountResolver } from '../account-resolver.js'
import type { Handoff, HandoffResponse } from '../handoff.js'
import { runLaunchTail, type LaunchTailOutcome } from '../launch-tail.js'
import { agsTargetOf, type AgsTarget } from './ags-target.js'
import { bindingClearCookie, readBindingCookie } from './binding-cookie.js'
import { createDeferredDeploymentRegistry, type DeferredDeploymentRegistry } from './deployments.js'
import type { Lti11Migration } from './migration.js'
import { createRegistrationLookup, lineitemHosts } from './registrations.js'
import { mapLaunchRoles } from './roles.js'
import type { ConsumerBudget } from '../../limits/consumer-budget.js'
import { refuseIfRemovedDuringLaunch } from '../removed-during-launch.js'
import type { DeepLinkingPicker, PickerPage } from './deep-linking/picker.js'

export interface Lti13LaunchRequest {
  idToken: unknown
  state: unknown
  cookieHeader: string | undefined
  /** The binding the platform-storage page read back (`lti_storage_binding`); '' when it found none. */
  storageBinding: unknown
  /** Per-registration launch budget (src/limits/consumer-budget.ts); the route binds it, tests may omit it. */
  budget?: ConsumerBudget | undefined
}

export type Lti13LaunchOutcome =
  | { kind: 'storage-page', html: string }
  | { kind: 'handoff', response: HandoffResponse, clearCookie: string, facts: Lti13LaunchFacts }
  /** An `LtiDeepLinkingRequest`: the content picker's first page. */
  | { kind: 'picker', page: PickerPage, clearCookie: string }

export interface Lti13LaunchFacts {
  registrationId: number
  deploymentId: string
  courseKey: string
  usageKey: string
  /** Undefined for an anonymous launch. */
  lmsUserId: number | undefined
  newProfile: boolean
  migrated: boolean
  gradedResource: boolean
}

export interface Lti13LaunchDeps {
  knex: Knex
  stateKey: Uint8Array
  publicUrl: string
  jwks: JwksCache
  /** Sees every registration record a launch reads (the JWKS fetcher's host allow-list). */
  onRegistrationLoaded?: ((record: Lti13RegistrationRecord) => void) | undefined
  migration: Lti11Migration
  allowLoopbackHttp: boolean
  /** undefined when LMS_URL is not configured. */
  accounts: AccountResolver | undefined
  handoff: Handoff | undefined
  lmsUrl: string | undefined
  log: FastifyBaseLogger
  onNewLearner?: ((lmsUserId: number) => void) | undefined
  /** Deep Linking content selection; without it a deep-linking request is refused. */
  deepLinking?: DeepLinkingPicker | undefined
  now?: (() => number) | undefined
}

export function createLti13LaunchService (deps: Lti13LaunchDeps) {
  const now = deps.now ?? Date.now
  const states = createOidcStatesRepository(deps.knex, { now })
  const profiles = createLtiProfilesRepository(deps.knex)
  const resources = createGradedResourcesRepository(deps.knex)
  const launchUrl = toolUrls(deps.publicUrl).redirectUri

  /** Binding from our cookie, else from platform storage; or the page that fetches it from storage. */
  async function recoverBinding (req: Lti13LaunchRequest, at: number): Promise<{ binding: string | undefined, stateId: string, verified: VerifiedState } | { page: string }> {
    // Signature and expiry only (nothing consumed): names the cookie and where platform storage is.
    const token = await verifyStateToken(req.state, deps.stateKey, { now: at })
    const verified = { token: req.state as string, claims: token }
    const fromCookie = readBindingCookie(req.cookieHeader, token.stateId)
    if (fromCookie !== undefined) return { binding: fromCookie, stateId: token.stateId, verified }
    if (typeof req.storageBinding === 'string') {
      // The storage page posted back: what it found, or nothing (then the state check refuses).
      return { binding: req.storageBinding === '' ? undefined : req.storageBinding, stateId: token.stateId, verified }
    }
    if (token.storageTarget !== undefined && token.platformOrigin !== undefined && typeof req.idToken === 'string' && req.idToken !== '') {
      return {
        page: renderLaunchStoragePage({
          storage: { frame: token.storageTarget, targetOrigin: token.platformOrigin },
          stateId: token.stateId,
          idToken: req.idToken,
          state: req.state as string,
          actionUrl: launchUrl
        })
      }
    }
    return { binding: undefined, stateId: token.stateId, verified }
  }

  /** The learner's profile (with its graded resource on this block), else the migrated 1.1 account. */
  async function identity (launch: Lti13Launch & { sub: string }, registration: Lti13RegistrationRecord, usageKey: string): Promise<{ existing: LtiProfile | undefined, resource: StoredResource | undefined, inherited: LmsAccountRef | undefined }> {
    // Verified whenever present on a linked registration, returning learner or not: a forged
    // claim is refused, never ignored.
    const migration = await deps.migration.resolve(launch, registration)
    const found = await profiles.findWithResource(registration.id, launch.sub, usageKey)
    if (found !== undefined) return { existing: found.profile, resource: found.resource, inherited: undefined }
    if (migration?.ltiUser !== undefined) {
      const { lmsUserId, lmsUsername, lmsEmail } = migration.ltiUser
      return { existing: undefined, resource: undefined, inherited: { lmsUserId, lmsUsername, lmsEmail } }
    }
    return { existing: undefined, resource: undefined, inherited: undefined }
  }

  const service = {
    async launch (req: Lti13LaunchRequest): Promise<Lti13LaunchOutcome> {
      const at = now()
      const recovered = await recoverBinding(req, at)
      if ('page' in recovered) return { kind: 'storage-page', html: recovered.page }
      const clearCookie = bindingClearCookie(recovered.stateId)

      const registrations = createRegistrationLookup(deps.knex, deps.onRegistrationLoaded)
      const deployments = createDeferredDeploymentRegistry(deps.knex)
      const message = await validateMessage(
        { idToken: req.idToken, state: req.state, binding: recovered.binding, verifiedState: recovered.verified },
        { stateKey: deps.stateKey, stateStore: states, findRegistrations: registrations.find, jwks: deps.jwks, deployments, publicUrl: deps.publicUrl, now: () => at }
      )
      const registration = registrations.loaded(message.registrationId)
      if (registration === undefined) throw new Error('validated launch of a registration the lookup did not load')
      // Only now, the single-use state consumed and the id_token verified, does a launch count against its
      // registration's budget: forgeries and replays cannot spend it. Refused here, nothing is stored.
      req.budget?.check(registration.id)
      req.budget?.spend(registration.id)

      if (message.messageType === MessageType.deepLinkingRequest) {
        if (deps.deepLinking === undefined) throw launchError('LAUNCH_LMS_NOT_CONFIGURED')
        const page = await deps.deepLinking.start(message, registration)
        if (deployments.hasPending()) await deps.knex.transaction(async trx => { await deployments.commit(at, trx) })
        return { kind: 'picker', page, clearCookie }
      }
      const launch = message

      const content = parseLaunchContent(launch.courseKey ?? courseKeyOfUsage(launch.usageKey), launch.usageKey)
      const courseKey = content.course.key
      const usageKey = content.usage.key
      assertInContentScope(compileContentScope(registration.contentScope), courseKey, usageKey)
      const roles = mapLaunchRoles(launch.roles)
      const baseFacts = { registrationId: registration.id, deploymentId: launch.deploymentId, courseKey, usageKey }

      if (launch.sub === undefined) {
        if (deps.lmsUrl === undefined) throw launchError('LAUNCH_LMS_NOT_CONFIGURED')
        if (deployments.hasPending()) await deps.knex.transaction(async trx => { await deployments.commit(at, trx) })
        deps.log.info({ event: 'lti13_launch', ...baseFacts, anonymous: true, platformRole: roles.platformRole }, 'LTI 1.3 anonymous launch')
        const location = `${deps.lmsUrl.replace(/\/+$/, '')}/courses/${courseKey}/jump_to/${usageKey}`
        return { kind: 'handoff', response: { kind: 'redirect', location }, clearCookie, facts: { ...baseFacts, lmsUserId: undefined, newProfile: false, migrated: false, gradedResource: false } }
      }
      const learner = launch as Lti13Launch & { sub: string }

      const ags = agsTargetOf(launch.ags, lineitemHosts(registration), { allowLoopbackHttp: deps.allowLoopbackHttp })
      if (deps.accounts === undefined || deps.handoff === undefined) throw launchError('LAUNCH_LMS_NOT_CONFIGURED')

      const found = await identity(learner, registration, usageKey)
      const factsOf = ({ account, newLearner }: LaunchTailOutcome): Lti13LaunchFacts => ({
        ...baseFacts,
        lmsUserId: account.lmsUserId,
        newProfile: newLearner,
        migrated: found.inherited !== undefined && newLearner,
        gradedResource: ags !== undefined
      })
      const { response, ...outcome } = await runLaunchTail({ knex: deps.knex, accounts: deps.accounts, handoff: deps.handoff, log: deps.log, onNewLearner: deps.onNewLearner }, {
        version: 'LTI 1.3',
        logFields: { registrationId: registration.id },
        mapped: found.existing,
        inherited: found.inherited,
        newAccount: { usePii: registration.usePii, name: fullName(launch), email: launch.email },
        courseKey,
        usageKey,
        // A returning learner re-opening the same link changes nothing, so nothing is written (as in
        // the LTI 1.1 launch): the deployment is known and the stored graded resource already says
        // what the upsert would write (its `updated_at` then keeps the time of the last change).
        unchanged: found.existing !== undefined && !deployments.hasPending() && resourceUnchanged(found.resource, { ags, deploymentId: launch.deploymentId, account: found.existing, courseKey }),
        findMapping: async () => await profiles.find(registration.id, learner.sub),
        // Profile (+ deployment, + graded resource) in one transaction; a concurrent first launch's
        // profile wins (the tail's retry policy), and the recorded deployment is written again.
        record: async (trx, profile, account) => {
          await deployments.commit(at, trx)
          const profileId = profile?.id ?? await profiles.insert(registration.id, learner.sub, account, at, trx)
          if (ags !== undefined) {
            await resources.upsert({
              profileId,
              deploymentId: launch.deploymentId,
              lmsUserId: account.lmsUserId,
              courseKey,
              usageKey,
              lineitemUrl: ags.lineitemUrl,
              scopes: ags.scopes
            }, at, trx)
          }
        },
        announce: outcome => {
          deps.log.info({ event: 'lti13_launch', ...factsOf(outcome), subHash: hashSub(learner.sub), platformRole: roles.platformRole }, 'LTI 1.3 launch')
        },
        target: {
          roles: roles.relayRoles,
          contextId: launch.context?.id ?? `lti13-${registration.id}-${launch.deploymentId}`,
          resourceLinkId: launch.resourceLink.id,
          fullName: registration.usePii ? fullName(launch) : undefined
        }
      })
      return { kind: 'handoff', response, clearCookie, facts: factsOf(outcome) }
    }
  }
  return {
    /** A registration or deployment removed while the launch ran is a refusal (its rows cannot be written). */
    launch: async (req: Lti13LaunchRequest): Promise<Lti13LaunchOutcome> =>
      await refuseIfRemovedDuringLaunch('LAUNCH_REGISTRATION_REMOVED', async () => await service.launch(req))
  }
}

export type Lti13LaunchService = ReturnType<typeof createLti13LaunchService>

/** True when the graded-resource upsert would write what is stored already (or there is none to write). */
function resourceUnchanged (stored: StoredResource | undefined, want: { ags: AgsTarget | undefined, deploymentId: string, account: LmsAccountRef, courseKey: string }): boolean {
  if (want.ags === undefined) return true
  return stored !== undefined &&
    stored.deploymentId === want.deploymentId &&
    stored.lmsUserId === want.account.lmsUserId &&
    stored.courseKey === want.courseKey &&
    stored.lineitemUrl === want.ags.lineitemUrl &&
    stored.scopesJson === JSON.stringify(want.ags.scopes)
}

function fullName (launch: Pick<Lti13Launch, 'name' | 'givenName' | 'familyName'>): string | undefined {
  const name = launch.name?.trim()
  if (name !== undefined && name !== '') return name
  const joined = [launch.givenName, launch.familyName].filter(part => part !== undefined && part.trim() !== '').join(' ').trim()
  return joined === '' ? undefined : joined
}

/** Logs name a learner by a short hash of `sub`, never by `sub` itself (lti-checklist.md §2 #19). */
function hashSub (sub: string): string {
  return createHash('sha256').update(sub, 'utf8').digest('base64url').slice(0, 12)
}
