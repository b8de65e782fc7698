/**
 * `lti-provider passbacks list | show <id> | retry <id> | retry --all-dead [--consumer id|--registration id]`:
 * the grade outbox (src/admin/passbacks-service.ts).
 */
import type { Command } from 'commander'
import type { PassbackListInput } from '../../schemas/http/admin-passbacks.js'
import { defined, formatRecord, parseId } from '../admin/cli-support.js'
import { invalidFields } from '../admin/errors.js'
import { formatTable, output } from './context.js'
import type { WithAdminServices } from '../admin/admin-services.js'

const optionalId = (text: string | undefined, field: string) => text === undefined ? undefined : parseId(text, field)

export function registerPassbacksCommand (program: Command, withServices: WithAdminServices): void {
  const passbacks = program.command('passbacks').description('the grade passback outbox')

  passbacks.command('list').description('list jobs, newest first, with their last error')
    .option('--status <status>', 'pending, delivering, delivered, failed, dead or superseded')
    .option('--consumer <id>', 'only jobs of this LTI 1.1 consumer')
    .option('--registration <id>', 'only jobs of this LTI 1.3 registration')
    .option('--limit <n>', 'page size (1..500, default 50)')
    .option('--before <id>', 'only jobs with a smaller id (the next page)')
    .option('--json', 'machine-readable output')
    .action(async (o: { status?: string, consumer?: string, registration?: string, limit?: string, before?: string, json?: boolean }) => {
      const input = defined({
        status: o.status,
        consumerId: optionalId(o.consumer, 'consumerId'),
        registrationId: optionalId(o.registration, 'registrationId'),
        limit: optionalId(o.limit, 'limit'),
        before: optionalId(o.before, 'before')
      }) as PassbackListInput
      await withServices(async s => {
        const page = await s.passbacks.list(input)
        output(page, o, () => formatTable(page.passbacks, ['id', 'kind', 'status', 'attempts', 'dueAt', 'platformHost', 'usageKey', 'lastError']) +
          (page.nextBefore === null ? '' : `more: --before ${page.nextBefore}\n`))
      })
    })

  passbacks.command('show').argument('<id>').description('show one job').option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      await withServices(async s => {
        const job = await s.passbacks.get(parseId(id, 'id'))
        output(job, o, () => formatRecord(job))
      })
    })

  passbacks.command('retry').argument('[id]')
    .description('requeue a failed or dead job now (attempts kept), or all dead jobs with --all-dead')
    .option('--all-dead', 'requeue every dead job (of one consumer or registration when given)')
    .option('--consumer <id>', 'with --all-dead: only jobs of this LTI 1.1 consumer')
    .option('--registration <id>', 'with --all-dead: only jobs of this LTI 1.3 registration')
    .option('--json', 'machine-readable output')
    .action(async (id: string | undefined, o: { allDead?: boolean, consumer?: string, registration?: string, json?: boolean }) => {
      if ((id === undefined) === (o.allDead !== true)) {
        throw invalidFields([{ field: 'id', message: 'give a job id or --all-dead, not both' }])
      }
      if (id !== undefined && (o.consumer !== undefined || o.registration !== undefined)) {
        throw invalidFields([{ field: 'consumerId', message: '--consumer and --registration go with --all-dead' }])
      }
      await withServices(async s => {
        if (id !== undefined) {
          const job = await s.passbacks.retry(parseId(id, 'id'))
          output(job, o, () => `requeued passback ${job.id} (attempts so far: ${job.attempts})\n`)
          return
        }
        const result = await s.passbacks.retryMany(defined({
          status: 'dead' as const,
          consumerId: optionalId(o.consumer, 'consumerId'),
          registrationId: optionalId(o.registration, 'registrationId')
        }))
        output(result, o, () => `requeued ${result.retried} dead passback(s)` +
          (result.skippedStale > 0 ? `; ${result.skippedStale} left dead because a newer score exists for the same target` : '') + '\n')
      })
    })
}
