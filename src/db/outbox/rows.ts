/**
 * The outbox tables' rows as the database returns them, shared by the writer, the worker's claims
 * and the admin queries. Drivers differ (MySQL BIGINT as string, SQLite booleans as 0/1): numbers
 * go through Number()/nullableNumber, booleans and lists through ../repositories/column-values.ts.
 */

export interface PassbackRow {
  id: number
  kind: string
  graded_assignment_id: number | null
  graded_resource_id: number | null
  target_key: string
  version: number
  method: string
  score_given: number | null
  score_maximum: number | null
  event_time_us: number
  ce_id: string | null
  platform_host: string
  status: string
  attempts: number
  last_error: string | null
  due_at: number
  lease_until: number | null
  lease_owner: string | null
  delivered_at: number | null
  created_at: number
  updated_at: number
}

/** `graded_assignments` joined with its learner and outcome service. */
export interface AssignmentTargetRow {
  id: number
  lms_user_id: number | string
  lms_username: string
  course_key: string
  usage_key: string
  version_number: number
  url: string
}

/** `graded_resources` joined with its LTI 1.3 profile. */
export interface ResourceTargetRow {
  id: number
  lms_user_id: number | string
  lms_username: string
  course_key: string
  usage_key: string
  version_number: number
  lineitem_url: string
}

export function nullableNumber (v: number | string | null): number | null {
  return v === null ? null : Number(v)
}
