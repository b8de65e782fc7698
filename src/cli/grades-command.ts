/**
 * `lti-provider grades resync --course <id>`: recompute the current score of every LTI launch in a
 * course and queue it (src/grades/course-resync.ts), for events the bus never delivered.
 */
import type { Command } from 'commander'
import { resyncCourse, type ResyncResult } from '../grades/course-resync.js'
import { GradesError } from '../grades/errors.js'
import { formatTable, withContext as defaultWithContext, type WithContext } from './context.js'

export interface GradesCommandDeps {
  /** The database and services (tests replace the LMS client through the services' overrides). */
  withContext?: WithContext
  write?: (text: string) => void
}

function summary (result: ResyncResult): string {
  const rows = [
    ...result.enqueued.map(e => ({ target: e.targetKey, usageKey: e.usageKey, version: e.version, score: `${e.scoreGiven}/${e.scoreMaximum}`, method: e.method + (e.approximate ? ' (approx.)' : ''), error: '' })),
    ...result.failed.map(f => ({ target: f.targetKey, usageKey: f.usageKey, version: '', score: '', method: '', error: f.code }))
  ]
  return formatTable(rows, ['target', 'usageKey', 'version', 'score', 'method', 'error']) +
    `${result.enqueued.length} of ${result.targets} launch(es) queued${result.failed.length > 0 ? `, ${result.failed.length} failed` : ''}\n`
}

export function registerGradesCommand (program: Command, deps: GradesCommandDeps = {}): void {
  const withContext = deps.withContext ?? defaultWithContext
  const write = deps.write ?? ((text: string) => { process.stdout.write(text) })
  const grades = program.command('grades').description('grade passback')

  grades.command('resync')
    .description('recompute and queue the current score of every LTI launch in a course')
    .requiredOption('--course <id>', 'course key, e.g. course-v1:Org+Course+Run')
    .option('--json', 'machine-readable output')
    .action(async (o: { course: string, json?: boolean }) => {
      await withContext(async ({ knex, services }) => {
        // The same scorer the outbox worker uses, over the services' LMS client (closed with them).
        const scorer = services.compositeScorer
        if (scorer === undefined) throw GradesError('GRADES_LMS_NOT_CONFIGURED')
        const result = await resyncCourse({ knex, scorer }, o.course.trim())
        write(o.json ? JSON.stringify(result, null, 2) + '\n' : summary(result))
        // Non-zero exit for scripts; the list above says which launches and why.
        if (result.failed.length > 0) throw GradesError('GRADES_RESYNC_INCOMPLETE', { failed: result.failed.length, queued: result.enqueued.length })
      })
    })
}
