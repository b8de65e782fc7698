/**
 * Launches for the soak, over real HTTP on loopback, as the platforms' browsers would send them:
 * - LTI 1.1: a signed basic-lti-launch-request carrying lis_result_sourcedid and
 *   lis_outcome_service_url (the fake outcome service), one sourcedid per (learner, problem);
 * - LTI 1.3: OIDC login at the tool → the platform's auth endpoint (mints the id_token) → form_post
 *   of id_token + state with the binding cookie; the id_token's AGS claim names a line item per
 *   problem on the AGS fake, with the score scope.
 * A (learner, problem) becomes a grade target once its first launch succeeded; later launches are
 * returning learners. A launch that fails (a fault is active) is counted and simply tried again later.
 */
import { Scope, ServiceClaim } from '../../src/lti/claims.js'
import { signLti11Request } from '../../src/lti/v11/oauth-sign.js'
import { contentTargetLinkUri } from '../../src/lti/v13/tool-urls.js'
import { DEMO_COURSE_ID, usageKey } from '../../test/support/fake-lms.js'
import { parseAutoSubmitForm } from '../../test/support/fake-lti13-platform.js'
import type { SoakStack } from './soak-stack.js'

export const SOAK_COURSE = DEMO_COURSE_ID
/** The default fake course tree: unit1 holds problems p1 and p2. */
export const SOAK_PROBLEMS = ['p1', 'p2'].map(id => usageKey(SOAK_COURSE, 'problem', id))

export type Protocol = 'lti11' | 'lti13'

/** One gradebook cell: a learner of one platform on one problem. */
export interface GradeTarget {
  /** `${protocol}:${learner}:${problem block}`. */
  id: string
  protocol: Protocol
  learner: string
  block: string
  lmsUserId: number
  /** LTI 1.1: the result sourcedid the consumer gave. */
  sourcedId?: string
  /** LTI 1.3: the AGS line item id (path segment on the fake) and the learner's `sub`. */
  lineitemId?: string
  sub?: string
}

export interface LaunchStats {
  lti11: { ok: number, failed: number }
  lti13: { ok: number, failed: number }
  /** First failure messages, for the report (status and a short body). */
  failures: string[]
}

export interface SoakLauncher {
  targets: Map<string, GradeTarget>
  stats: LaunchStats
  /** One launch of learner `index` (default random, 1-based) of `protocol` on `block` (default random); never throws. */
  launchOne: (protocol: Protocol, index?: number, block?: string) => Promise<void>
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

export function createSoakLauncher (stack: SoakStack, options: { learnersPerProtocol: number, random: () => number }): SoakLauncher {
  const targets = new Map<string, GradeTarget>()
  const stats: LaunchStats = { lti11: { ok: 0, failed: 0 }, lti13: { ok: 0, failed: 0 }, failures: [] }
  const pick = <T>(list: readonly T[]): T => list[Math.floor(options.random() * list.length)]!

  async function lmsUserOf (table: 'lti_users' | 'lti_profiles', column: 'lti_user_id' | 'sub', value: string): Promise<number> {
    const row = await stack.app.knex(table).where(column, value).first('lms_user_id') as { lms_user_id: number | string } | undefined
    if (row === undefined) throw new Error(`launch accepted but no ${table} row for ${value}`)
    return Number(row.lms_user_id)
  }

  async function launch11 (learner: string, block: string): Promise<GradeTarget> {
    const path = `/lti_provider/courses/${SOAK_COURSE}/${block}`
    const problem = block.split('@').pop() ?? ''
    const sourcedId = `soak:${learner}:${problem}`
    const signed = signLti11Request({
      url: stack.publicUrl + path,
      consumerKey: stack.lti11.key,
      consumerSecret: stack.lti11.secret,
      callback: 'about:blank',
      formParams: [
        ['lti_message_type', 'basic-lti-launch-request'], ['lti_version', 'LTI-1p0'], ['resource_link_id', `link-${problem}`],
        ['user_id', learner], ['roles', 'Learner'], ['context_id', 'soak-course'],
        ['lis_result_sourcedid', sourcedId], ['lis_outcome_service_url', stack.outcomes.outcomeUrl(`soak-${problem}`)]
      ]
    })
    const res = await fetch(stack.publicUrl + path, { method: 'POST', headers: FORM, body: new URLSearchParams(signed.formParams.map(([k, v]): [string, string] => [k, v])) })
    const page = await res.text()
    if (res.status !== 200) throw new Error(`LTI 1.1 launch ${res.status}: ${page.slice(0, 160)}`)
    return { id: `lti11:${learner}:${block}`, protocol: 'lti11', learner, block, lmsUserId: await lmsUserOf('lti_users', 'lti_user_id', learner), sourcedId }
  }

  async function launch13 (learner: string, block: string): Promise<GradeTarget> {
    const problem = block.split('@').pop() ?? ''
    const lineitemId = `soak-${problem}`
    const initiation = stack.platform.loginInitiation({
      userId: learner,
      targetLinkUri: contentTargetLinkUri(stack.publicUrl, SOAK_COURSE, block),
      resourceLinkId: `link-${problem}`,
      claims: { [ServiceClaim.agsEndpoint]: { scope: [Scope.agsScore, Scope.agsLineItemReadonly], lineitem: stack.ags.lineitemUrl(lineitemId) } }
    })
    const login = await fetch(`${stack.publicUrl}/lti/1.3/login?${new URLSearchParams(initiation).toString()}`, { redirect: 'manual' })
    const location = login.headers.get('location')
    if (login.status !== 302 || location === null) throw new Error(`LTI 1.3 login ${login.status}: ${(await login.text()).slice(0, 160)}`)
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
    const auth = await fetch(location, { redirect: 'manual' })
    const authPage = await auth.text()
    if (auth.status !== 200) throw new Error(`platform auth ${auth.status}: ${authPage.slice(0, 160)}`)
    const post = parseAutoSubmitForm(authPage)
    const res = await fetch(post.action, { method: 'POST', headers: { ...FORM, cookie }, body: new URLSearchParams(post.fields) })
    const page = await res.text()
    if (res.status !== 200) throw new Error(`LTI 1.3 launch ${res.status}: ${page.slice(0, 160)}`)
    return { id: `lti13:${learner}:${block}`, protocol: 'lti13', learner, block, lmsUserId: await lmsUserOf('lti_profiles', 'sub', learner), lineitemId, sub: learner }
  }

  return {
    targets,
    stats,
    async launchOne (protocol, index, chosenBlock) {
      const learner = `soak-${protocol === 'lti11' ? 'a' : 'b'}${index ?? Math.floor(options.random() * options.learnersPerProtocol) + 1}`
      const block = chosenBlock ?? pick(SOAK_PROBLEMS)
      try {
        const target = protocol === 'lti11' ? await launch11(learner, block) : await launch13(learner, block)
        stats[protocol].ok++
        if (!targets.has(target.id)) targets.set(target.id, target)
      } catch (err) {
        stats[protocol].failed++
        if (stats.failures.length < 10) stats.failures.push((err as Error).message.replace(/\s+/g, ' '))
      }
    }
  }
}
