/**
 * One-time Dynamic Registration invites for the admin API and the CLI: create (the URL is shown
 * once), list with what became of each (registration, activation, scope warnings), remove.
 */
import type { Knex } from 'knex'
import { createRegistrationInvitesRepository, type RegistrationInvite } from '../db/repositories/registration-invites-repository.js'
import { createLti13RegistrationsRepository } from '../db/repositories/lti13-registrations-repository.js'
import { invalidFields, notFound, type FieldProblem } from '../admin/errors.js'
import { assertSchema } from '../admin/validate-input.js'
import { contentScopeProblems } from '../admin/content-scope-rule.js'
import { hostPatternProblems, normalizeHostPatterns } from '../admin/host-pattern-rule.js'
import { jsonColumnProblems } from '../admin/json-column-rule.js'
import { isoTime, isoTimeOrNull } from '../admin/iso-time.js'
import {
  INVITE_DEFAULT_SECONDS, InviteCreateSchema, type InviteCreate, type InviteCreated, type InviteView
} from '../../schemas/http/admin-invites.js'
import { inviteTokenHash, newInviteToken } from './invite-token.js'
import { ConfigPath } from './tool-configuration.js'

export interface InvitesServiceOptions {
  knex: Knex
  /** PUBLIC_URL without trailing slash. */
  publicOrigin: string
  now?: () => number
}

export function createInvitesService (opts: InvitesServiceOptions) {
  const invites = createRegistrationInvitesRepository(opts.knex)
  const registrations = createLti13RegistrationsRepository(opts.knex)
  const now = opts.now ?? Date.now

  async function view (invite: RegistrationInvite): Promise<InviteView> {
    const registration = invite.registrationId === null ? undefined : await registrations.findById(invite.registrationId)
    const status = invite.usedAt !== null ? 'used' : invite.expiresAt <= now() ? 'expired' : 'pending'
    return {
      id: invite.id,
      status,
      contentScope: invite.contentScope,
      allowedHosts: invite.allowedHosts,
      autoActivate: invite.autoActivate,
      expiresAt: isoTime(invite.expiresAt),
      usedAt: isoTimeOrNull(invite.usedAt),
      registrationId: invite.registrationId,
      registrationActive: registration === undefined ? null : registration.active,
      warnings: invite.warnings,
      createdAt: isoTime(invite.createdAt)
    }
  }

  return {
    async create (input: InviteCreate): Promise<InviteCreated> {
      assertSchema(InviteCreateSchema, input)
      const problems: FieldProblem[] = [
        ...contentScopeProblems(input.contentScope ?? []),
        ...hostPatternProblems(input.allowedHosts, 'allowedHosts'),
        ...jsonColumnProblems({ contentScope: input.contentScope, allowedHosts: input.allowedHosts })
      ]
      if (problems.length > 0) throw invalidFields(problems)
      const token = newInviteToken()
      const at = now()
      const expiresAt = at + (input.expiresInSeconds ?? INVITE_DEFAULT_SECONDS) * 1000
      const id = await invites.insert({
        tokenHash: inviteTokenHash(token),
        contentScope: input.contentScope ?? [],
        allowedHosts: normalizeHostPatterns(input.allowedHosts ?? []),
        autoActivate: input.autoActivate ?? false,
        expiresAt,
        createdAt: at
      })
      return { id, url: `${opts.publicOrigin}${ConfigPath.register}?invite=${token}`, expiresAt: isoTime(expiresAt) }
    },

    async list (): Promise<InviteView[]> {
      return await Promise.all((await invites.list()).map(view))
    },

    async get (id: number): Promise<InviteView> {
      const invite = await invites.findById(id)
      if (!invite) throw notFound('invite', id)
      return await view(invite)
    },

    /** Withdraws an invite (used or not); a registration made through it stays. */
    async remove (id: number): Promise<void> {
      if (await invites.remove(id) === 0) throw notFound('invite', id)
    }
  }
}

export type InvitesService = ReturnType<typeof createInvitesService>
