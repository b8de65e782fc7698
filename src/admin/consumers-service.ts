/**
 * LTI 1.1 consumers for the admin API and the CLI. The secret is sealed with the secret box under
 * the context `lti11_consumers.secret` (the launch code opens it with the same context) and never
 * leaves this module in clear: views say `hasSecret: true`.
 */
import type { Knex } from 'knex'
import type { SecretBox } from '../crypto/secret-box.js'
import { isUniqueViolation } from '../db/connection.js'
import { createLti11ConsumersRepository, type Lti11Consumer, type Lti11ConsumerChanges } from '../db/repositories/lti11-consumers-repository.js'
import {
  ConsumerCreateSchema, ConsumerUpdateSchema, type ConsumerCreate, type ConsumerUpdate, type ConsumerView,
  type Lti11SignatureMethodName
} from '../../schemas/http/admin-consumers.js'
import { AdminErrors, invalidFields, notFound, type FieldProblem } from './errors.js'
import { assertSchema } from './validate-input.js'
import { contentScopeProblems, contentScopeWarnings } from './content-scope-rule.js'
import { jsonColumnProblems } from './json-column-rule.js'
import { hostPatternProblems, normalizeHostPatterns } from './host-pattern-rule.js'
import { isoTime } from './iso-time.js'

/** Additional data of the sealed secret; shared with the LTI 1.1 launch code. */
export const CONSUMER_SECRET_CONTEXT = 'lti11_consumers.secret'

export interface ConsumersServiceOptions {
  knex: Knex
  secretBox: SecretBox
  /** Default oauth_timestamp window of new consumers (LTI11_TIMESTAMP_WINDOW). */
  defaultTimestampWindow: number
  now?: () => number
  /** After a create, change or removal has committed. */
  onChanged?: (() => void) | undefined
}

export function createConsumersService (opts: ConsumersServiceOptions) {
  const repo = createLti11ConsumersRepository(opts.knex)
  const now = opts.now ?? Date.now
  const changed = (): void => { opts.onChanged?.() }

  async function view (id: number, trx?: Knex.Transaction): Promise<ConsumerView> {
    const consumer = await repo.findById(id, trx)
    if (!consumer) throw notFound('consumer', id)
    return consumerView(consumer)
  }

  function duplicateKey (err: unknown): never {
    if (isUniqueViolation(err)) throw AdminErrors('ADMIN_DUPLICATE_CONSUMER_KEY', undefined, { cause: err })
    throw err
  }

  return {
    async create (input: ConsumerCreate): Promise<ConsumerView> {
      assertSchema(ConsumerCreateSchema, input)
      checkSemantics(input)
      const at = now()
      const created = await opts.knex.transaction(async trx => {
        let id: number
        try {
          id = await repo.insert({
            name: input.name,
            consumerKey: input.key,
            secretEnc: opts.secretBox.seal(input.secret, CONSUMER_SECRET_CONTEXT),
            instanceGuid: input.instanceGuid ?? null,
            contentScope: input.contentScope ?? [],
            usePii: input.usePii ?? false,
            requireUserAccount: input.requireUserAccount ?? false,
            outcomeHosts: normalizeHostPatterns(input.outcomeHosts ?? []),
            pinOutcomeHost: input.pinOutcomeHost ?? true,
            signatureMethods: normalizeMethods(input.signatureMethods),
            timestampWindow: input.timestampWindow ?? opts.defaultTimestampWindow,
            active: input.active ?? true,
            createdAt: at,
            updatedAt: at
          }, trx)
        } catch (err) {
          duplicateKey(err)
        }
        return await view(id, trx)
      })
      changed()
      return created
    },

    async list (): Promise<ConsumerView[]> {
      return (await repo.list()).map(consumerView)
    },

    async get (id: number): Promise<ConsumerView> {
      return await view(id)
    },

    async update (id: number, input: ConsumerUpdate): Promise<ConsumerView> {
      assertSchema(ConsumerUpdateSchema, input)
      checkSemantics(input)
      const changes: Lti11ConsumerChanges = { updatedAt: now() }
      if (input.name !== undefined) changes.name = input.name
      if (input.key !== undefined) changes.consumerKey = input.key
      if (input.secret !== undefined) changes.secretEnc = opts.secretBox.seal(input.secret, CONSUMER_SECRET_CONTEXT)
      if (input.instanceGuid !== undefined) changes.instanceGuid = input.instanceGuid
      if (input.contentScope !== undefined) changes.contentScope = input.contentScope
      if (input.usePii !== undefined) changes.usePii = input.usePii
      if (input.requireUserAccount !== undefined) changes.requireUserAccount = input.requireUserAccount
      if (input.outcomeHosts !== undefined) changes.outcomeHosts = normalizeHostPatterns(input.outcomeHosts)
      if (input.pinOutcomeHost !== undefined) changes.pinOutcomeHost = input.pinOutcomeHost
      if (input.signatureMethods !== undefined) changes.signatureMethods = normalizeMethods(input.signatureMethods)
      if (input.timestampWindow !== undefined) changes.timestampWindow = input.timestampWindow
      if (input.active !== undefined) changes.active = input.active
      const updated = await opts.knex.transaction(async trx => {
        if (!await repo.findById(id, trx)) throw notFound('consumer', id)
        try {
          await repo.update(id, changes, trx)
        } catch (err) {
          duplicateKey(err)
        }
        return await view(id, trx)
      })
      changed()
      return updated
    },

    /** Removes the consumer with its users, outcome services, assignments and their passbacks. */
    async remove (id: number): Promise<void> {
      if (await repo.remove(id) === 0) throw notFound('consumer', id)
      changed()
    }
  }
}

export type ConsumersService = ReturnType<typeof createConsumersService>

/** Shorter shared secrets can be guessed offline from a single signed launch (HMAC-SHA1). */
export const MIN_CONSUMER_SECRET_LENGTH = 16

function checkSemantics (input: { secret?: string | undefined, contentScope?: string[] | undefined, outcomeHosts?: string[] | undefined }): void {
  const problems: FieldProblem[] = []
  if (input.secret !== undefined && [...input.secret].length < MIN_CONSUMER_SECRET_LENGTH) {
    problems.push({ field: 'secret', message: `must be at least ${MIN_CONSUMER_SECRET_LENGTH} characters (a short secret can be guessed from one signed launch)` })
  }
  if (input.contentScope) problems.push(...contentScopeProblems(input.contentScope))
  problems.push(...hostPatternProblems(input.outcomeHosts, 'outcomeHosts'))
  problems.push(...jsonColumnProblems({ contentScope: input.contentScope, outcomeHosts: input.outcomeHosts }))
  if (problems.length > 0) throw invalidFields(problems)
}

/** HMAC-SHA1 is what LTI 1.1 mandates, so it is always in the list; others are opt-ins. */
function normalizeMethods (methods: readonly Lti11SignatureMethodName[] | undefined): Lti11SignatureMethodName[] {
  const list: Lti11SignatureMethodName[] = ['HMAC-SHA1']
  for (const m of methods ?? []) if (!list.includes(m)) list.push(m)
  return list
}

export function consumerView (c: Lti11Consumer): ConsumerView {
  return {
    id: c.id,
    name: c.name,
    key: c.consumerKey,
    hasSecret: c.secretEnc.length > 0,
    instanceGuid: c.instanceGuid,
    contentScope: c.contentScope,
    usePii: c.usePii,
    requireUserAccount: c.requireUserAccount,
    outcomeHosts: c.outcomeHosts,
    pinOutcomeHost: c.pinOutcomeHost,
    signatureMethods: c.signatureMethods,
    timestampWindow: c.timestampWindow,
    active: c.active,
    createdAt: isoTime(c.createdAt),
    updatedAt: isoTime(c.updatedAt),
    ...contentScopeWarnings(c.contentScope)
  }
}
