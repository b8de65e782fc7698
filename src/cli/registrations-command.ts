/**
 * `lti-provider registrations add|list|show|update|remove` and
 * `registrations deployments add|remove`: LTI 1.3 platforms (src/admin/registrations-service.ts);
 * `registrations invite|invites|activate` in invites-command.ts.
 */
import type { Command } from 'commander'
import type { RegistrationCreate, RegistrationUpdate, RegistrationView } from '../../schemas/http/admin-registrations.js'
import { collect, defined, formatRecord, listOption, nullableOption, parseId, parseInteger } from '../admin/cli-support.js'
import { formatTable, output } from './context.js'
import type { WithAdminServices } from '../admin/admin-services.js'
import { registerInviteCommands } from './invites-command.js'

interface RegistrationOptions {
  name?: string
  issuer?: string
  clientId?: string
  authLoginUrl?: string
  authTokenUrl?: string
  jwksUrl?: string
  deployment?: string[] | boolean
  deploymentPolicy?: string
  contentScope?: string[] | boolean
  usePii?: boolean
  authTokenAudience?: string | boolean
  allowAnonymous?: boolean
  algorithm?: string[] | boolean
  allowedHost?: string[] | boolean
  tokenMaxAge?: string
  lti11Consumer?: string | boolean
  active?: boolean
  json?: boolean
}

function registrationOptions (cmd: Command): Command {
  return cmd
    .option('--name <name>', 'display name')
    .option('--issuer <url>', 'the platform\'s issuer (iss)')
    .option('--client-id <id>', 'the client_id the platform assigned to this tool')
    .option('--auth-login-url <url>', 'the platform\'s OIDC authorization endpoint')
    .option('--auth-token-url <url>', 'the platform\'s OAuth2 token endpoint (AGS)')
    .option('--jwks-url <url>', 'the platform\'s public keys')
    .option('--deployment-policy <policy>', 'strict (only listed deployments) or record (accept and record new ones)')
    .option('--content-scope <pattern>', 'launchable course/usage key pattern, e.g. course-v1:MITx+* (repeatable)', collect)
    .option('--no-content-scope', 'empty the content scope (nothing launchable)')
    .option('--use-pii', 'use names and emails the platform sends')
    .option('--no-use-pii', 'create anonymous accounts')
    .option('--auth-token-audience <aud>', 'aud of client assertions when it differs from the token URL')
    .option('--no-auth-token-audience', 'use the token URL as aud')
    .option('--allow-anonymous', 'accept launches without sub')
    .option('--no-allow-anonymous', 'refuse launches without sub')
    .option('--algorithm <alg>', 'allowed id_token algorithm: RS256, RS384, RS512, ES256, PS256 (repeatable)', collect)
    .option('--allowed-host <host>', 'extra host for tokens and line items besides the issuer\'s (repeatable)', collect)
    .option('--no-allowed-host', 'empty the extra host list')
    .option('--token-max-age <seconds>', 'maximum id_token age (30..3600)')
    .option('--lti11-consumer <id>', 'the LTI 1.1 consumer this platform migrates from')
    .option('--no-lti11-consumer', 'remove the LTI 1.1 migration link')
    .option('--active', 'accept launches')
    .option('--no-active', 'refuse launches')
    .option('--json', 'machine-readable output')
}

function optionalFields (o: RegistrationOptions) {
  const consumer = nullableOption(o.lti11Consumer)
  return defined({
    name: o.name,
    issuer: o.issuer,
    clientId: o.clientId,
    authLoginUrl: o.authLoginUrl,
    authTokenUrl: o.authTokenUrl,
    jwksUrl: o.jwksUrl,
    deploymentPolicy: o.deploymentPolicy,
    contentScope: listOption(o.contentScope),
    usePii: o.usePii,
    authTokenAudience: nullableOption(o.authTokenAudience),
    allowAnonymous: o.allowAnonymous,
    allowedAlgorithms: listOption(o.algorithm),
    allowedHosts: listOption(o.allowedHost),
    tokenMaxAge: o.tokenMaxAge === undefined ? undefined : parseInteger(o.tokenMaxAge, 'tokenMaxAge'),
    lti11ConsumerId: consumer === undefined || consumer === null ? consumer : parseId(consumer, 'lti11ConsumerId'),
    active: o.active
  })
}

function show (registration: RegistrationView, opts: { json?: boolean }): void {
  output(registration, opts, () => {
    const { tool, ...rest } = registration
    return formatRecord(rest) + '\nenter these on the platform:\n' + formatRecord(tool)
  })
}

export function registerRegistrationsCommand (program: Command, withServices: WithAdminServices): void {
  const registrations = program.command('registrations').description('LTI 1.3 platform registrations and their deployments')

  registrationOptions(registrations.command('add').description('register a platform (issuer + client id)'))
    .option('--deployment <id>', 'a deployment id the platform may launch with (repeatable)', collect)
    .action(async (o: RegistrationOptions) => {
      const input = { ...optionalFields(o), ...defined({ deploymentIds: listOption(o.deployment) }) } as RegistrationCreate
      await withServices(async s => show(await s.registrations.create(input), o))
    })

  registrations.command('list').description('list registrations').option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      await withServices(async s => {
        const list = await s.registrations.list()
        output(list, o, () => formatTable(list.map(r => ({ ...r, deployments: r.deployments.map(d => d.deploymentId) })),
          ['id', 'name', 'issuer', 'clientId', 'active', 'deploymentPolicy', 'deployments', 'contentScope']))
      })
    })

  registrations.command('show').argument('<id>').description('show one registration and the tool URLs').option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      await withServices(async s => show(await s.registrations.get(parseId(id, 'id')), o))
    })

  registrationOptions(registrations.command('update').argument('<id>').description('change some fields; lists given replace the stored ones'))
    .action(async (id: string, o: RegistrationOptions) => {
      const input = optionalFields(o) as RegistrationUpdate
      await withServices(async s => show(await s.registrations.update(parseId(id, 'id'), input), o))
    })

  registrations.command('remove').argument('<id>')
    .description('remove a registration with its deployments, profiles and pending grades')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      const registrationId = parseId(id, 'id')
      await withServices(async s => s.registrations.remove(registrationId))
      output({ removed: true, id: registrationId }, o, () => `removed registration ${registrationId}\n`)
    })

  registerInviteCommands(registrations, withServices)

  const deployments = registrations.command('deployments').description('deployment ids a registration accepts')
  deployments.command('add').argument('<registrationId>').argument('<deploymentId>')
    .description('accept launches from this deployment').option('--json', 'machine-readable output')
    .action(async (registrationId: string, deploymentId: string, o: { json?: boolean }) => {
      await withServices(async s => {
        const deployment = await s.registrations.addDeployment(parseId(registrationId, 'registrationId'), deploymentId)
        output(deployment, o, () => formatRecord(deployment))
      })
    })
  deployments.command('remove').argument('<registrationId>').argument('<deploymentId>')
    .description('stop accepting launches from this deployment').option('--json', 'machine-readable output')
    .action(async (registrationId: string, deploymentId: string, o: { json?: boolean }) => {
      const id = parseId(registrationId, 'registrationId')
      await withServices(async s => s.registrations.removeDeployment(id, deploymentId))
      output({ removed: true, registrationId: id, deploymentId }, o, () => `removed deployment ${deploymentId} of registration ${id}\n`)
    })
}
