/**
 * LTI 1.1 outcome targets: `outcome_services` (one per consumer and URL) and `graded_assignments`
 * (one per LTI user and launched block). Upserts keep `version_number`: a re-launch refreshes the
 * sourcedid without resetting the version guard. A launch writes these; the outbox's writer
 * (writer.ts) reads them as graded targets and bumps their versions.
 */
import { createHash } from 'node:crypto'
import type { Knex } from 'knex'

export function createOutcomeTargetsRepository (knex: Knex) {
  return {
    async upsertOutcomeService (consumerId: number, url: string, now: number, trx?: Knex.Transaction): Promise<number> {
      const db = trx ?? knex
      const sha = createHash('sha256').update(url, 'utf8').digest('hex')
      await db('outcome_services').insert({ consumer_id: consumerId, url, url_sha256: sha, created_at: now })
        // merge, not ignore: MySQL's INSERT IGNORE would also swallow unrelated errors (style.md §4)
        .onConflict(['consumer_id', 'url_sha256']).merge(['url'])
      const row = await db('outcome_services').select('id').where({ consumer_id: consumerId, url_sha256: sha }).first()
      return Number(row.id)
    },
    async upsertGradedAssignment (a: { ltiUserId: number, outcomeServiceId: number, lmsUserId: number, courseKey: string, usageKey: string, sourcedid: string }, now: number, trx?: Knex.Transaction): Promise<number> {
      const db = trx ?? knex
      await db('graded_assignments').insert({
        lti_user_id: a.ltiUserId, outcome_service_id: a.outcomeServiceId, lms_user_id: a.lmsUserId, course_key: a.courseKey,
        usage_key: a.usageKey, lis_result_sourcedid: a.sourcedid, version_number: 0, created_at: now, updated_at: now
      }).onConflict(['lti_user_id', 'usage_key']).merge(['outcome_service_id', 'lis_result_sourcedid', 'updated_at'])
      const row = await db('graded_assignments').select('id').where({ lti_user_id: a.ltiUserId, usage_key: a.usageKey }).first()
      return Number(row.id)
    }
  }
}
