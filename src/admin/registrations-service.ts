/**
 * LTI 1.3 platform registrations and their deployments, for the admin API and the CLI. A
 * registration and its initial deployments are written in one transaction: a failure leaves
 * nothing behind. Views carry the tool's own URLs (derived from PUBLIC_URL) that the platform
 * admin must enter on their side.
 */
import type { Knex } from 'knex'
import { isUniqueViolation } from '../db/connection.js'
import { createLti11ConsumersRepository } from '../db/repositories/lti11-consumers-repository.js'
import { createLti13DeploymentsRepository, type Lti13Deployment } from '../db/repositories/lti13-deployments-repository.js'
import {
  createLti13RegistrationsRepository, type Lti13RegistrationChanges, type Lti13RegistrationRecord
} from '../db/repositories/lti13-registrations-repository.js'
import { RegistrationDefaults } from '../lti/v13/registration.js'
import { toolUrls, type ToolUrls } from '../lti/v13/tool-urls.js'
import {
  DeploymentCreateSchema, RegistrationCreateSchema, RegistrationUpdateSchema,
  type DeploymentView, type RegistrationCreate, type RegistrationUpdate, type RegistrationView
} from '../../schemas/http/admin-registrations.js'
import { AdminErrors, invalidFields, notFound, type FieldProblem } from './errors.js'
import { assertSchema } from './validate-input.js'
import { contentScopeProblems, contentScopeWarnings } from './content-scope-rule.js'
import { jsonColumnProblems } from './json-column-rule.js'
import { hostPatternProblems, normalizeHostPatterns } from './host-pattern-rule.js'
import { platformUrlProblem, type PlatformUrlPolicy } from './platform-url-rule.js'
import { isoTime } from './iso-time.js'

export interface RegistrationsServiceOptions {
  knex: Knex
  /** PUBLIC_URL without trailing slash: the tool URLs shown to the platform admin. */
  publicOrigin: string
  /** OUTBOUND_ALLOW_LOOPBACK_HTTP: accept http:// platform URLs on loopback hosts. */
  allowLoopbackHttp: boolean
  now?: () => number
}

const URL_FIELDS = ['issuer', 'authLoginUrl', 'authTokenUrl', 'jwksUrl'] as const

function isForeignKeyViolation (err: unknown): boolean {
  const e = err as { code?: string, errno?: number } | null
  return e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || e?.errno === 1452
}

export function createRegistrationsService (opts: RegistrationsServiceOptions) {
  const registrations = createLti13RegistrationsRepository(opts.knex)
  const deployments = createLti13DeploymentsRepository(opts.knex)
  const consumers = createLti11ConsumersRepository(opts.knex)
  const now = opts.now ?? Date.now
  const tool = toolUrls(opts.publicOrigin)
  const policy: PlatformUrlPolicy = { allowLoopbackHttp: opts.allowLoopbackHttp }

  async function view (id: number, trx?: Knex.Transaction): Promise<RegistrationView> {
    const registration = await registrations.findById(id, trx)
    if (!registration) throw notFound('registration', id)
    return registrationView(registration, await deployments.listByRegistration(id, trx), tool)
  }

  async function requireRegistration (id: number, trx?: Knex.Transaction): Promise<void> {
    if (!await registrations.findById(id, trx)) throw notFound('registration', id)
  }

  /** The migration link must name an existing consumer; checked inside the writing transaction. */
  async function checkConsumerLink (consumerId: number | null | undefined, trx: Knex.Transaction): Promise<void> {
    if (consumerId === undefined || consumerId === null) return
    if (!await consumers.findById(consumerId, trx)) throw invalidFields([{ field: 'lti11ConsumerId', message: 'no LTI 1.1 consumer has this id' }])
  }

  function writeError (err: unknown): never {
    if (isUniqueViolation(err)) throw AdminErrors('ADMIN_DUPLICATE_REGISTRATION', undefined, { cause: err })
    if (isForeignKeyViolation(err)) throw invalidFields([{ field: 'lti11ConsumerId', message: 'no LTI 1.1 consumer has this id' }])
    throw err
  }

  return {
    async create (input: RegistrationCreate): Promise<RegistrationView> {
      assertSchema(RegistrationCreateSchema, input)
      checkSemantics(input, policy)
      const at = now()
      return await opts.knex.transaction(async trx => {
        await checkConsumerLink(input.lti11ConsumerId, trx)
        let id: number
        try {
          id = await registrations.insert({
            name: input.name,
            issuer: input.issuer,
            clientId: input.clientId,
            authLoginUrl: input.authLoginUrl,
            authTokenUrl: input.authTokenUrl,
            authTokenAudience: input.authTokenAudience ?? null,
            jwksUrl: input.jwksUrl,
            deploymentPolicy: input.deploymentPolicy ?? RegistrationDefaults.deploymentPolicy,
            contentScope: input.contentScope ?? [],
            usePii: input.usePii ?? false,
            allowAnonymous: input.allowAnonymous ?? false,
            allowedAlgorithms: input.allowedAlgorithms ?? [...RegistrationDefaults.algorithms],
            allowedHosts: normalizeHostPatterns(input.allowedHosts ?? []),
            tokenMaxAge: input.tokenMaxAge ?? RegistrationDefaults.maxTokenAgeSeconds,
            lti11ConsumerId: input.lti11ConsumerId ?? null,
            active: input.active ?? true,
            createdAt: at,
            updatedAt: at
          }, trx)
        } catch (err) {
          writeError(err)
        }
        for (const deploymentId of input.deploymentIds ?? []) {
          try {
            await deployments.insert({ registrationId: id, deploymentId, source: 'admin', createdAt: at }, trx)
          } catch (err) {
            // Distinct in JSON but equal for the database (MySQL collations ignore case and trailing spaces).
            if (isUniqueViolation(err)) throw AdminErrors('ADMIN_DUPLICATE_DEPLOYMENT', { deploymentId }, { cause: err })
            throw err
          }
        }
        return await view(id, trx)
      })
    },

    async list (): Promise<RegistrationView[]> {
      const all = await registrations.list()
      const byRegistration = new Map<number, Lti13Deployment[]>()
      for (const d of await deployments.listByRegistrations(all.map(r => r.id))) {
        const list = byRegistration.get(d.registrationId) ?? []
        list.push(d)
        byRegistration.set(d.registrationId, list)
      }
      return all.map(r => registrationView(r, byRegistration.get(r.id) ?? [], tool))
    },

    async get (id: number): Promise<RegistrationView> {
      return await view(id)
    },

    async update (id: number, input: RegistrationUpdate): Promise<RegistrationView> {
      assertSchema(RegistrationUpdateSchema, input)
      checkSemantics(input, policy)
      const changes: Lti13RegistrationChanges = { updatedAt: now() }
      if (input.name !== undefined) changes.name = input.name
      if (input.issuer !== undefined) changes.issuer = input.issuer
      if (input.clientId !== undefined) changes.clientId = input.clientId
      if (input.authLoginUrl !== undefined) changes.authLoginUrl = input.authLoginUrl
      if (input.authTokenUrl !== undefined) changes.authTokenUrl = input.authTokenUrl
      if (input.authTokenAudience !== undefined) changes.authTokenAudience = input.authTokenAudience
      if (input.jwksUrl !== undefined) changes.jwksUrl = input.jwksUrl
      if (input.deploymentPolicy !== undefined) changes.deploymentPolicy = input.deploymentPolicy
      if (input.contentScope !== undefined) changes.contentScope = input.contentScope
      if (input.usePii !== undefined) changes.usePii = input.usePii
      if (input.allowAnonymous !== undefined) changes.allowAnonymous = input.allowAnonymous
      if (input.allowedAlgorithms !== undefined) changes.allowedAlgorithms = input.allowedAlgorithms
      if (input.allowedHosts !== undefined) changes.allowedHosts = normalizeHostPatterns(input.allowedHosts)
      if (input.tokenMaxAge !== undefined) changes.tokenMaxAge = input.tokenMaxAge
      if (input.lti11ConsumerId !== undefined) changes.lti11ConsumerId = input.lti11ConsumerId
      if (input.active !== undefined) changes.active = input.active
      return await opts.knex.transaction(async trx => {
        await requireRegistration(id, trx)
        await checkConsumerLink(input.lti11ConsumerId, trx)
        try {
          await registrations.update(id, changes, trx)
        } catch (err) {
          writeError(err)
        }
        return await view(id, trx)
      })
    },

    /** Removes the registration with its deployments, profiles, graded resources and passbacks. */
    async remove (id: number): Promise<void> {
      if (await registrations.remove(id) === 0) throw notFound('registration', id)
    },

    async addDeployment (id: number, deploymentId: string): Promise<DeploymentView> {
      assertSchema(DeploymentCreateSchema, { deploymentId })
      return await opts.knex.transaction(async trx => {
        await requireRegistration(id, trx)
        try {
          await deployments.insert({ registrationId: id, deploymentId, source: 'admin', createdAt: now() }, trx)
        } catch (err) {
          if (isUniqueViolation(err)) throw AdminErrors('ADMIN_DUPLICATE_DEPLOYMENT', { deploymentId }, { cause: err })
          throw err
        }
        const created = await deployments.find(id, deploymentId, trx)
        /* c8 ignore next -- read back inside the inserting transaction */
        if (!created) throw notFound('deployment', deploymentId)
        return deploymentView(created)
      })
    },

    async removeDeployment (id: number, deploymentId: string): Promise<void> {
      await opts.knex.transaction(async trx => {
        await requireRegistration(id, trx)
        if (await deployments.remove(id, deploymentId, trx) === 0) throw notFound('deployment', deploymentId)
      })
    }
  }
}

export type RegistrationsService = ReturnType<typeof createRegistrationsService>

type SemanticInput = Partial<Record<typeof URL_FIELDS[number], string>> & {
  contentScope?: string[] | undefined
  allowedHosts?: string[] | undefined
}

function checkSemantics (input: SemanticInput, policy: PlatformUrlPolicy): void {
  const problems: FieldProblem[] = []
  for (const field of URL_FIELDS) {
    const value = input[field]
    if (value === undefined) continue
    const problem = platformUrlProblem(value, policy)
    if (problem) problems.push({ field, message: problem })
  }
  if (input.contentScope) problems.push(...contentScopeProblems(input.contentScope))
  problems.push(...hostPatternProblems(input.allowedHosts, 'allowedHosts'))
  problems.push(...jsonColumnProblems({ contentScope: input.contentScope, allowedHosts: input.allowedHosts }))
  if (problems.length > 0) throw invalidFields(problems)
}

export function deploymentView (d: Lti13Deployment): DeploymentView {
  return { deploymentId: d.deploymentId, source: d.source, createdAt: isoTime(d.createdAt) }
}

export function registrationView (r: Lti13RegistrationRecord, list: readonly Lti13Deployment[], tool: ToolUrls): RegistrationView {
  return {
    id: r.id,
    name: r.name,
    issuer: r.issuer,
    clientId: r.clientId,
    authLoginUrl: r.authLoginUrl,
    authTokenUrl: r.authTokenUrl,
    authTokenAudience: r.authTokenAudience,
    jwksUrl: r.jwksUrl,
    deploymentPolicy: r.deploymentPolicy,
    contentScope: r.contentScope,
    usePii: r.usePii,
    allowAnonymous: r.allowAnonymous,
    allowedAlgorithms: r.allowedAlgorithms,
    allowedHosts: r.allowedHosts,
    tokenMaxAge: r.tokenMaxAge,
    lti11ConsumerId: r.lti11ConsumerId,
    active: r.active,
    createdAt: isoTime(r.createdAt),
    updatedAt: isoTime(r.updatedAt),
    deployments: list.map(deploymentView),
    tool: { ...tool },
    ...contentScopeWarnings(r.contentScope)
  }
}
