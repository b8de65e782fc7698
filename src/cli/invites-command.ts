/**
 * `lti-provider registrations invite|invites|activate`: one-time LTI Dynamic Registration invites
 * (src/onboarding/invites-service.ts) and switching on a registration a platform made with one.
 */
import type { Command } from 'commander'
import type { InviteCreate } from '../../schemas/http/admin-invites.js'
import { collect, defined, formatRecord, listOption, parseId } from '../admin/cli-support.js'
import { invalidFields } from '../admin/errors.js'
import { formatTable, output } from './context.js'
import type { WithAdminServices } from '../admin/admin-services.js'

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** `90m`, `24h`, `7d`, `3600s` or plain seconds. */
export function parseDuration (text: string, field: string): number {
  const m = /^([1-9][0-9]{0,7})([smhd]?)$/.exec(text)
  if (!m) throw invalidFields([{ field, message: 'must be a duration such as 90m, 24h or 7d' }])
  return Number(m[1]) * (UNIT_SECONDS[m[2] || 's'] as number)
}

interface InviteOptions {
  expires?: string
  contentScope?: string[] | boolean
  allowedHost?: string[] | boolean
  autoActivate?: boolean
  json?: boolean
}

export function registerInviteCommands (registrations: Command, withServices: WithAdminServices): void {
  registrations.command('invite').description('create a one-time LTI Dynamic Registration URL for a platform admin')
    .option('--expires <duration>', 'lifetime, e.g. 90m, 24h, 7d (default 24h)')
    .option('--content-scope <pattern>', 'launchable course/usage key pattern for the new registration (repeatable)', collect)
    .option('--allowed-host <host>', 'extra platform host besides the issuer\'s, e.g. sso.canvaslms.com (repeatable)', collect)
    .option('--auto-activate', 'the new registration accepts launches at once (default: an admin activates it)')
    .option('--json', 'machine-readable output')
    .action(async (o: InviteOptions) => {
      const input = defined({
        expiresInSeconds: o.expires === undefined ? undefined : parseDuration(o.expires, 'expires'),
        contentScope: listOption(o.contentScope),
        allowedHosts: listOption(o.allowedHost),
        autoActivate: o.autoActivate
      }) as InviteCreate
      await withServices(async s => {
        const invite = await s.invites.create(input)
        output(invite, o, () => formatRecord(invite) + 'give this URL to the platform admin (Moodle: "Tool URL" under "Manage tools"; Canvas: "LTI Registration" URL). It works once.\n')
      })
    })

  const invites = registrations.command('invites').description('registration invites and what became of them')
  invites.command('list', { isDefault: true }).description('list invites (never their URLs)').option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      await withServices(async s => {
        const list = await s.invites.list()
        output(list, o, () => formatTable(list.map(i => ({ ...i })), ['id', 'status', 'expiresAt', 'registrationId', 'registrationActive', 'autoActivate', 'warnings']))
      })
    })
  invites.command('remove').argument('<id>').description('withdraw an invite (a registration made with it stays)').option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      const inviteId = parseId(id, 'id')
      await withServices(async s => s.invites.remove(inviteId))
      output({ removed: true, id: inviteId }, o, () => `removed invite ${inviteId}\n`)
    })

  registrations.command('activate').argument('<id>').description('accept launches of a registration (e.g. one a platform made through an invite)')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      await withServices(async s => {
        const registration = await s.registrations.update(parseId(id, 'id'), { active: true })
        output(registration, o, () => `registration ${registration.id} (${registration.name}) is active\n`)
      })
    })
}
