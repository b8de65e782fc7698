import { createHash } from 'node:crypto'
import type { Knex } from 'knex'

/**
 * Direct inserts of what the launch code creates (LTI identities and graded launches), so the grade
 * pipeline can be tested without it. Minimal valid rows: the consumer and registration columns the
 * pipeline never reads get neutral values.
 */
export interface Seeder {
  /** An LTI 1.1 consumer + learner mapping + outcome service; returns ids to attach assignments to. */
  lti11User: (opts: { lmsUserId: number, lmsUsername: string, outcomeUrl?: string }) => Promise<{ consumerId: number, ltiUserRowId: number, outcomeServiceId: number }>
  /** A graded_assignments row (an LTI 1.1 launch with a result sourcedid); returns its id. */
  assignment: (user: { ltiUserRowId: number, outcomeServiceId: number }, opts: { lmsUserId: number, courseKey: string, usageKey: string, sourcedid?: string }) => Promise<number>
  /** An LTI 1.3 registration + profile; returns the profile id. */
  lti13User: (opts: { lmsUserId: number, lmsUsername: string }) => Promise<{ registrationId: number, profileId: number }>
  /** A graded_resources row (an LTI 1.3 launch with an AGS line item); returns its id. */
  resource: (profileId: number, opts: { lmsUserId: number, courseKey: string, usageKey: string, lineitemUrl?: string }) => Promise<number>
}

const NOW = 1_763_000_000_000

async function insertId (knex: Knex, table: string, row: Record<string, unknown>): Promise<number> {
  const [id] = await knex(table).insert(row)
  return Number(id)
}

export function createSeeder (knex: Knex): Seeder {
  let n = 0
  const next = () => ++n
  return {
    async lti11User ({ lmsUserId, lmsUsername, outcomeUrl = 'https://canvas.example.edu/api/lti/v1/tools/1/grade_passback' }) {
      const i = next()
      const consumerId = await insertId(knex, 'lti11_consumers', {
        name: `consumer ${i}`, consumer_key: `key-${i}-${lmsUserId}`, secret_enc: 'x', instance_guid: null, content_scope: '["course-v1:*"]',
        use_pii: false, require_user_account: false, outcome_hosts: '[]', pin_outcome_host: true, signature_methods: '["HMAC-SHA1"]',
        timestamp_window: 300, active: true, created_at: NOW, updated_at: NOW
      })
      const ltiUserRowId = await insertId(knex, 'lti_users', {
        consumer_id: consumerId, lti_user_id: `lti-user-${i}`, lms_user_id: lmsUserId, lms_username: lmsUsername, created_at: NOW, updated_at: NOW
      })
      const outcomeServiceId = await insertId(knex, 'outcome_services', {
        consumer_id: consumerId, url: outcomeUrl, url_sha256: createHash('sha256').update(outcomeUrl).digest('hex'), created_at: NOW
      })
      return { consumerId, ltiUserRowId, outcomeServiceId }
    },

    async assignment (user, { lmsUserId, courseKey, usageKey, sourcedid }) {
      return insertId(knex, 'graded_assignments', {
        lti_user_id: user.ltiUserRowId, outcome_service_id: user.outcomeServiceId, lms_user_id: lmsUserId, course_key: courseKey,
        usage_key: usageKey, lis_result_sourcedid: sourcedid ?? `sourcedid-${next()}`, version_number: 0, created_at: NOW, updated_at: NOW
      })
    },

    async lti13User ({ lmsUserId, lmsUsername }) {
      const i = next()
      const registrationId = await insertId(knex, 'lti13_registrations', {
        name: `platform ${i}`, issuer: `https://platform-${i}.example.edu`, client_id: `client-${i}`,
        auth_login_url: 'https://platform.example.edu/auth', auth_token_url: 'https://platform.example.edu/token', auth_token_audience: null,
        jwks_url: 'https://platform.example.edu/jwks', deployment_policy: 'strict', content_scope: '["course-v1:*"]', use_pii: false,
        allow_anonymous: false, allowed_algorithms: '["RS256"]', allowed_hosts: '[]', token_max_age: 300, lti11_consumer_id: null,
        active: true, created_at: NOW, updated_at: NOW
      })
      const profileId = await insertId(knex, 'lti_profiles', {
        registration_id: registrationId, sub: `sub-${i}`, lms_user_id: lmsUserId, lms_username: lmsUsername, created_at: NOW, updated_at: NOW
      })
      return { registrationId, profileId }
    },

    async resource (profileId, { lmsUserId, courseKey, usageKey, lineitemUrl = 'https://moodle.example.edu/mod/lti/services.php/2/lineitems/7/lineitem' }) {
      return insertId(knex, 'graded_resources', {
        profile_id: profileId, deployment_id: '1', lms_user_id: lmsUserId, course_key: courseKey, usage_key: usageKey,
        lineitem_url: lineitemUrl, scopes: '["https://purl.imsglobal.org/spec/lti-ags/scope/score"]', version_number: 0,
        created_at: NOW, updated_at: NOW
      })
    }
  }
}
