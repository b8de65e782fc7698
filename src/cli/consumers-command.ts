/** `lti-provider consumers add|list|show|update|remove`: LTI 1.1 consumers (src/admin/consumers-service.ts). */
import type { Command } from 'commander'
import type { ConsumerCreate, ConsumerUpdate, ConsumerView, Lti11SignatureMethodName } from '../../schemas/http/admin-consumers.js'
import { collect, defined, formatRecord, listOption, nullableOption, parseId, parseInteger, readSecret } from '../admin/cli-support.js'
import { invalidFields } from '../admin/errors.js'
import { formatTable, output } from './context.js'
import type { WithAdminServices } from '../admin/admin-services.js'

interface ConsumerOptions {
  name?: string
  key?: string
  secret?: string
  secretFile?: string
  instanceGuid?: string | boolean
  contentScope?: string[] | boolean
  usePii?: boolean
  requireUserAccount?: boolean
  outcomeHost?: string[] | boolean
  pinOutcomeHost?: boolean
  signatureMethod?: string[] | boolean
  timestampWindow?: string
  active?: boolean
  json?: boolean
}

function consumerOptions (cmd: Command): Command {
  return cmd
    .option('--name <name>', 'display name')
    .option('--key <key>', 'oauth_consumer_key the platform sends')
    .option('--secret <secret>', 'shared secret (prefer --secret-file: options show in process lists)')
    .option('--secret-file <path>', 'read the secret from a file, or from standard input with "-"')
    .option('--instance-guid <guid>', 'tool_consumer_instance_guid of the platform')
    .option('--no-instance-guid', 'clear the instance GUID')
    .option('--content-scope <pattern>', 'launchable course/usage key pattern, e.g. course-v1:MITx+* (repeatable)', collect)
    .option('--no-content-scope', 'empty the content scope (nothing launchable)')
    .option('--use-pii', 'use names and emails the platform sends')
    .option('--no-use-pii', 'create anonymous accounts')
    .option('--require-user-account', 'the learner must already have an LMS account')
    .option('--no-require-user-account', 'create LMS accounts as needed')
    .option('--outcome-host <host>', 'allowed outcome service host or *.suffix (repeatable)', collect)
    .option('--no-outcome-host', 'empty the outcome host list')
    .option('--pin-outcome-host', 'with no outcome hosts, pin the first one a launch names')
    .option('--no-pin-outcome-host', 'do not pin an outcome host')
    .option('--signature-method <method>', 'HMAC-SHA256 to allow it besides HMAC-SHA1 (repeatable)', collect)
    .option('--timestamp-window <seconds>', '± seconds accepted for oauth_timestamp (30..3600)')
    .option('--active', 'accept launches')
    .option('--no-active', 'refuse launches')
    .option('--json', 'machine-readable output')
}

function optionalFields (o: ConsumerOptions) {
  return defined({
    instanceGuid: nullableOption(o.instanceGuid),
    contentScope: listOption(o.contentScope),
    usePii: o.usePii,
    requireUserAccount: o.requireUserAccount,
    outcomeHosts: listOption(o.outcomeHost),
    pinOutcomeHost: o.pinOutcomeHost,
    signatureMethods: listOption(o.signatureMethod) as Lti11SignatureMethodName[] | undefined,
    timestampWindow: o.timestampWindow === undefined ? undefined : parseInteger(o.timestampWindow, 'timestampWindow'),
    active: o.active
  })
}

function show (consumer: ConsumerView, opts: { json?: boolean }): void {
  output(consumer, opts, () => formatRecord(consumer))
}

export function registerConsumersCommand (program: Command, withServices: WithAdminServices): void {
  const consumers = program.command('consumers').description('LTI 1.1 consumers (platforms launching with OAuth 1.0a)')

  consumerOptions(consumers.command('add').description('add a consumer; the secret is stored encrypted and never shown again'))
    .action(async (o: ConsumerOptions) => {
      const secret = await readSecret(o)
      if (secret === undefined) throw invalidFields([{ field: 'secret', message: 'give --secret or --secret-file' }])
      const input = { ...optionalFields(o), name: o.name, key: o.key, secret } as ConsumerCreate
      await withServices(async s => show(await s.consumers.create(input), o))
    })

  consumers.command('list').description('list consumers').option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      await withServices(async s => {
        const list = await s.consumers.list()
        output(list, o, () => formatTable(list, ['id', 'name', 'key', 'active', 'contentScope', 'outcomeHosts']))
      })
    })

  consumers.command('show').argument('<id>').description('show one consumer').option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      await withServices(async s => show(await s.consumers.get(parseId(id, 'id')), o))
    })

  consumerOptions(consumers.command('update').argument('<id>').description('change some fields; lists given replace the stored ones'))
    .action(async (id: string, o: ConsumerOptions) => {
      const secret = await readSecret(o)
      const input = { ...optionalFields(o), ...defined({ name: o.name, key: o.key, secret }) } as ConsumerUpdate
      await withServices(async s => show(await s.consumers.update(parseId(id, 'id'), input), o))
    })

  consumers.command('remove').argument('<id>')
    .description('remove a consumer with its users, outcome services and pending grades')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      const consumerId = parseId(id, 'id')
      await withServices(async s => s.consumers.remove(consumerId))
      output({ removed: true, id: consumerId }, o, () => `removed consumer ${consumerId}\n`)
    })
}
