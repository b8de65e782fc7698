import { randomBytes, randomInt } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { ancestorOfType, scorablePostOrder, weightedScore, type FakeCourse, type FakeCourseSpec } from './fake-lms-course.js'
import { baseStringUri, djangoEscapeUriPath, hmacSha1Signature, signatureBaseString, signaturesEqual } from './fake-lms-oauth1.js'
import { FakeLmsState, fakeJwt, type FakeLmsRoute, type FakeLtiConsumer, type FakeUser } from './fake-lms-state.js'

export { usageKey, defaultCourseTree, type FakeBlockSpec, type FakeCourseSpec } from './fake-lms-course.js'
export { FakeLmsState, FAKE_LMS_ROUTES, type FakeFault, type FakeLmsRoute, type FakeLtiConsumer, type FakeRelayLaunch, type FakeUser } from './fake-lms-state.js'

/**
 * An in-process fake of the Open edX LMS REST contract (docs openedx-rest.md), on 127.0.0.1 with
 * an ephemeral port. It answers with the LMS's status codes and body shapes (including the odd
 * ones: 200 with an empty body for "not enrolled", 403 `forbidden-request` for the registration
 * rate limit, a deliberate 404 when a non-staff user enrolls someone else), checks OAuth2 client
 * credentials and tokens, verifies relay launches' OAuth 1.0a signatures, and has fault switches
 * and counters per route. Used by tests and by `npm run demo`.
 */

export const DEMO_COURSE_ID = 'course-v1:OpenedX+DemoX+Demo_Course'

export interface FakeLmsOptions {
  readonly clientId?: string
  readonly clientSecret?: string
  readonly tokenTtlSeconds?: number
  /** false: like an LMS without JWT support, `token_type=jwt` is refused with 400. */
  readonly supportsJwt?: boolean
  readonly serviceUser?: { readonly username?: string, readonly email?: string, readonly isStaff?: boolean }
  /** Registrations accepted before `403 {"error_code":"forbidden-request"}` (REGISTRATION_RATELIMIT); null = unlimited. */
  readonly registrationLimit?: number | null
  /** ALLOW_PUBLIC_ACCOUNT_CREATION = False: registration answers a plain 403. */
  readonly registrationDisabled?: boolean
  /** REGISTRATION_EXTRA_FIELDS marked required (e.g. `['country']`). */
  readonly registrationRequiredFields?: readonly string[]
  /** SKIP_EMAIL_VALIDATION: new accounts are active at once (default false: inactive). */
  readonly activateOnRegistration?: boolean
  /** Older releases answer a registration with `{success, redirect_url}` only (no authenticated_user). */
  readonly legacyRegistrationAnswer?: boolean
  /** Courses; default one demo course with a small tree. */
  readonly courses?: readonly FakeCourseSpec[]
  /** LtiConsumer rows of the LMS's built-in LTI 1.1 provider (relay target). */
  readonly ltiConsumers?: readonly FakeLtiConsumer[]
  readonly ltiUserEmailDomain?: string
  /** ENABLE_LTI_PROVIDER; when false the relay answers 403. */
  readonly relayEnabled?: boolean
  readonly mfeUrl?: string
  readonly port?: number
  readonly now?: () => number
}

export interface FakeLms {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly state: FakeLmsState
  /**
   * Holds the next requests to `route` until `count` of them have arrived, then answers them all:
   * makes concurrency tests deterministic (both launches are past their lookups before either writes).
   */
  barrier (route: FakeLmsRoute, count: number): void
  /**
   * Holds the next request to `route` until `release()`; `arrived` resolves once it is held. Lets a
   * test act between two LMS calls of one launch (a rival writer, a lock taken on the database).
   */
  hold (route: FakeLmsRoute): { arrived: Promise<void>, release: () => void }
  close (): Promise<void>
}

class Reply {
  readonly status: number
  readonly body: string
  readonly headers: Record<string, string | string[]>

  constructor (status: number, body: string, headers: Record<string, string | string[]> = {}) {
    this.status = status
    this.body = body
    this.headers = headers
  }
}

function json (status: number, body: unknown, headers: Record<string, string | string[]> = {}): Reply {
  return new Reply(status, body === undefined ? '' : JSON.stringify(body), { 'content-type': 'application/json', ...headers })
}

function html (status: number, text: string, headers: Record<string, string | string[]> = {}): Reply {
  return new Reply(status, text, { 'content-type': 'text/html; charset=utf-8', ...headers })
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)

interface Ctx {
  readonly req: http.IncomingMessage
  readonly url: URL
  readonly rawPath: string
  readonly body: string
  readonly params: ReadonlyArray<string | undefined>
}

interface RouteDef {
  readonly name: FakeLmsRoute
  readonly method: string | readonly string[]
  readonly pattern: RegExp
  readonly handle: (ctx: Ctx) => Reply | Promise<Reply>
}

function formOf (ctx: Ctx): Map<string, string> {
  const type = String(ctx.req.headers['content-type'] ?? '')
  // Django fills request.POST only for form encodings.
  if (!type.startsWith('application/x-www-form-urlencoded')) return new Map()
  return new Map(new URLSearchParams(ctx.body))
}

function jsonOf (ctx: Ctx): Record<string, unknown> | null {
  if (!String(ctx.req.headers['content-type'] ?? '').startsWith('application/json')) return null
  try {
    const v = JSON.parse(ctx.body) as unknown
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : null
  } catch {
    return null
  }
}

function cookieOf (req: http.IncomingMessage, name: string): string | undefined {
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === name) return v.join('=')
  }
  return undefined
}

function accountJson (user: FakeUser, full: boolean): Record<string, unknown> {
  if (!full) return { username: user.username, account_privacy: 'private', profile_image: { has_image: false } }
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    name: user.name,
    is_active: user.isActive,
    date_joined: user.dateJoined,
    last_login: null,
    country: null,
    year_of_birth: null,
    bio: null,
    extended_profile: [],
    language_proficiencies: [],
    social_links: [],
    requires_parental_consent: false,
    account_privacy: 'private',
    profile_image: { has_image: false },
  }
}

export async function startFakeLms (opts: FakeLmsOptions = {}): Promise<FakeLms> {
  const now = opts.now ?? Date.now
  const state = new FakeLmsState({
    clientId: opts.clientId ?? 'lti-provider-client',
    clientSecret: opts.clientSecret ?? 'lti-provider-secret',
    tokenTtlSeconds: opts.tokenTtlSeconds ?? 3600,
    supportsJwt: opts.supportsJwt ?? true,
    serviceUser: {
      username: opts.serviceUser?.username ?? 'lti_service',
      email: opts.serviceUser?.email ?? 'lti_service@example.com',
      isStaff: opts.serviceUser?.isStaff ?? true,
    },
    registrationLimit: opts.registrationLimit ?? null,
    registrationDisabled: opts.registrationDisabled ?? false,
    registrationRequiredFields: opts.registrationRequiredFields ?? [],
    activateOnRegistration: opts.activateOnRegistration ?? false,
    legacyRegistrationAnswer: opts.legacyRegistrationAnswer ?? false,
    courses: opts.courses ?? [{ id: DEMO_COURSE_ID }],
    ltiConsumers: opts.ltiConsumers ?? [],
    ltiUserEmailDomain: opts.ltiUserEmailDomain ?? 'lti.example.com',
    relayEnabled: opts.relayEnabled ?? true,
    mfeUrl: (opts.mfeUrl ?? 'http://apps.local.openedx.io:2000/learning').replace(/\/$/, ''),
    now,
  })
  let origin = ''

  /** DRF authentication: `JWT <jwt>` (JwtAuthentication) or `Bearer <opaque>` (BearerAuthentication). */
  function authenticate (req: http.IncomingMessage): FakeUser | Reply {
    const header = String(req.headers.authorization ?? '')
    const m = /^(JWT|Bearer) (\S+)$/.exec(header)
    if (m === null) return json(401, { detail: 'Authentication credentials were not provided.' }, { 'www-authenticate': 'JWT realm="api"' })
    const token = state.tokens.get(m[2] as string)
    if (token === undefined || token.scheme !== m[1] || token.expiresAt <= now()) {
      return json(401, { detail: token !== undefined && token.expiresAt <= now() ? 'Token has expired.' : 'Invalid token.' }, { 'www-authenticate': 'JWT realm="api"' })
    }
    const user = state.users.get(token.userId)
    return user ?? json(401, { detail: 'User not found.' })
  }

  function withUser (handler: (ctx: Ctx, user: FakeUser) => Reply): (ctx: Ctx) => Reply {
    return ctx => {
      const user = authenticate(ctx.req)
      return user instanceof Reply ? user : handler(ctx, user)
    }
  }

  const findCourse = (id: string): FakeCourse | undefined => state.courses.get(id)
  const courseOfBlock = (key: string): FakeCourse | undefined => [...state.courses.values()].find(c => c.blocks.has(key))

  function courseDetailsJson (course: FakeCourse): Record<string, unknown> {
    return {
      course_id: course.id,
      course_name: course.displayName,
      enrollment_start: null,
      enrollment_end: null,
      course_start: null,
      course_end: null,
      invite_only: course.inviteOnly,
      course_modes: course.modes.map(slug => ({ slug, name: slug, min_price: 0, suggested_prices: '', currency: 'usd', expiration_datetime: null, description: null, sku: null, bulk_sku: null })),
    }
  }

  function enrollmentJson (username: string, course: FakeCourse): Record<string, unknown> | null {
    const e = state.enrollmentOf(username, course.id)
    if (e === undefined) return null
    return { created: e.created, mode: e.mode, is_active: e.isActive, user: e.username, course_details: courseDetailsJson(course) }
  }

  /** The learner-specific grade arithmetic of a subsection: all scorable descendants, weighted. */
  function subsectionTotals (course: FakeCourse, key: string, userId: number): { earned: number, possible: number, graded: boolean, scores: Array<{ earned: number, possible: number }> } {
    const block = course.blocks.get(key)
    const scores = scorablePostOrder(course, key).map(p => weightedScore(p, state.problemScores.get(`${userId}|${p.key}`)))
    return {
      earned: scores.reduce((s, x) => s + x.earned, 0),
      possible: scores.reduce((s, x) => s + x.possible, 0),
      graded: block?.graded ?? false,
      scores,
    }
  }

  function sessionCookie (username: string): string {
    const sid = randomBytes(16).toString('hex')
    state.sessions.set(sid, username)
    return `sessionid=${sid}; HttpOnly; Path=/; SameSite=None; Secure`
  }

  const routes: RouteDef[] = [
    {
      name: 'token',
      method: 'POST',
      pattern: /^\/oauth2\/access_token\/?$/,
      handle: ctx => {
        const form = formOf(ctx)
        if (form.get('grant_type') !== 'client_credentials') return json(400, { error: 'unsupported_grant_type' })
        if (form.get('client_id') !== state.options.clientId || form.get('client_secret') !== state.options.clientSecret) {
          return json(401, { error: 'invalid_client' })
        }
        const wantsJwt = (form.get('token_type') ?? String(ctx.req.headers['x-token-type'] ?? '')).toLowerCase() === 'jwt'
        if (wantsJwt && !state.supportsJwt) return json(400, { error: 'invalid_request', error_description: 'Unsupported token type.' })
        const ttl = state.options.tokenTtlSeconds
        const token = wantsJwt ? fakeJwt(state.serviceUser, ttl, now()) : randomBytes(15).toString('hex')
        state.tokens.set(token, { userId: state.serviceUser.id, scheme: wantsJwt ? 'JWT' : 'Bearer', expiresAt: now() + ttl * 1000 })
        return json(200, { access_token: token, token_type: wantsJwt ? 'JWT' : 'Bearer', expires_in: ttl, scope: 'read write email profile' })
      },
    },
    {
      name: 'me',
      method: 'GET',
      pattern: /^\/api\/user\/v1\/me\/?$/,
      handle: withUser((_ctx, user) => json(200, { username: user.username })),
    },
    {
      name: 'search-emails',
      method: 'POST',
      pattern: /^\/api\/user\/v1\/accounts\/search_emails\/?$/,
      handle: withUser((ctx, user) => {
        if (!user.isStaff) return json(404, { developer_message: 'not_found', user_message: 'Not Found' })
        const emails = jsonOf(ctx)?.emails
        if (!Array.isArray(emails)) return json(400, { developer_message: "'emails' field is required", user_message: "'emails' field is required" })
        const found = emails.flatMap(e => typeof e === 'string' ? [state.findUserByEmail(e)].filter((u): u is FakeUser => u !== undefined) : [])
        return json(200, found.map(u => ({ username: u.username, email: u.email, id: u.id })))
      }),
    },
    {
      name: 'accounts',
      method: 'GET',
      pattern: /^\/api\/user\/v1\/accounts\/?$/,
      handle: withUser((ctx, user) => {
        const q = ctx.url.searchParams
        const email = q.get('email')
        const lmsUserId = q.get('lms_user_id')
        // CanGetAccountInfo: lookups by email or id are for staff only.
        if ((email !== null || lmsUserId !== null) && !user.isStaff) return json(403, { detail: 'You do not have permission to perform this action.' })
        let usernames: string[] = []
        const list = q.get('username')
        if (list !== null && list !== '') {
          usernames = list.replace(/^,+|,+$/g, '').split(',')
        } else if (email !== null && email !== '') {
          if (state.retiredEmails.has(email.toLowerCase())) {
            return json(404, { error_msg: 'This email is associated to a retired account.', can_cancel_retirement: false, retirement_id: null })
          }
          const found = state.findUserByEmail(email)
          if (found === undefined) return json(404, undefined)
          usernames = [found.username]
        } else if (lmsUserId !== null && lmsUserId !== '') {
          if (!/^\d+$/.test(lmsUserId)) return json(400, undefined)
          const found = state.users.get(Number(lmsUserId))
          if (found === undefined) return json(404, undefined)
          usernames = [found.username]
        }
        const found = usernames.map(u => state.findUserByUsername(u)).filter((u): u is FakeUser => u !== undefined)
        if (found.length === 0) return json(404, undefined)
        return json(200, found.map(u => accountJson(u, user.isStaff || u.id === user.id)))
      }),
    },
    {
      name: 'account',
      method: 'GET',
      pattern: /^\/api\/user\/v1\/accounts\/([^/]+)\/?$/,
      handle: withUser((ctx, user) => {
        const found = state.findUserByUsername(ctx.params[0] as string)
        if (found === undefined) return json(404, undefined)
        return json(200, accountJson(found, user.isStaff || found.id === user.id))
      }),
    },
    {
      name: 'registration',
      method: 'POST',
      pattern: /^\/(api\/user|user_api)\/v1\/account\/registration\/?$/,
      handle: ctx => register(ctx),
    },
    {
      name: 'enrollment-get',
      method: 'GET',
      pattern: /^\/api\/enrollment\/v1\/enrollment\/([^/,]+),([^/]+)$/,
      handle: withUser((ctx, user) => {
        const [username, courseId] = ctx.params as [string, string]
        // A 404 instead of a 403, so one user cannot learn about another's enrollments.
        if (username !== user.username && !user.isStaff) return json(404, undefined)
        const course = findCourse(courseId)
        if (course === undefined) return json(400, { message: `An error occurred while retrieving enrollments for user '${username}' in course '${courseId}'` })
        const body = enrollmentJson(username, course)
        // DRF renders None as an empty body.
        return body === null ? new Reply(200, '', { 'content-type': 'application/json' }) : json(200, body)
      }),
    },
    {
      name: 'enrollment-post',
      method: 'POST',
      pattern: /^\/api\/enrollment\/v1\/enrollment\/?$/,
      handle: withUser((ctx, user) => {
        const body = jsonOf(ctx)
        if (body === null) return json(400, { message: 'Course ID must be specified to create a new enrollment.' })
        const username = typeof body.user === 'string' ? body.user : user.username
        if (username !== user.username && !user.isStaff) return json(404, undefined)
        const details = typeof body.course_details === 'object' && body.course_details !== null ? body.course_details as Record<string, unknown> : {}
        const courseId = typeof details.course_id === 'string' ? details.course_id : ''
        if (courseId === '') return json(400, { message: 'Course ID must be specified to create a new enrollment.' })
        const target = state.findUserByUsername(username)
        if (target === undefined) return json(406, { message: `The user ${username} does not exist.` })
        const course = findCourse(courseId)
        if (course === undefined) return json(400, { message: `No course '${courseId}' found for enrollment` })
        const mode = typeof body.mode === 'string' ? body.mode : 'audit'
        if (!['audit', 'honor'].includes(mode) && !user.isStaff) return json(403, { message: 'User does not have permission to create enrollment with mode [' + mode + '].' })
        if (!course.modes.includes(mode)) {
          return json(400, {
            message: `The [${mode}] course mode is expired or otherwise unavailable for course run [${courseId}].`,
            course_details: courseDetailsJson(course),
          })
        }
        const forced = body.force_enrollment === true && user.isStaff
        const existing = state.enrollmentOf(target.username, courseId)
        if ((course.inviteOnly || course.enrollmentClosed) && !forced && existing === undefined) {
          return json(403, { message: `User ${target.username} can't be enrolled in course ${courseId}: enrollment is closed or by invitation only.` })
        }
        state.enroll(target.username, courseId, mode, body.is_active !== false)
        return json(200, enrollmentJson(target.username, course))
      }),
    },
    {
      name: 'subsection-grade',
      method: 'GET',
      pattern: /^\/api\/grades\/v1\/subsection\/([^/]+)\/?$/,
      handle: withUser((ctx, user) => {
        const key = ctx.params[0] as string
        const course = courseOfBlock(key)
        if (course === undefined) return json(404, { developer_message: 'Invalid UsageKey', error_code: 'invalid_usage_key' })
        if (!user.isStaff) return json(403, { developer_message: 'The requesting user does not have course author permissions.', error_code: 'user_permissions' })
        const userId = Number(ctx.url.searchParams.get('user_id'))
        const student = Number.isInteger(userId) ? state.users.get(userId) : undefined
        if (student === undefined) return json(404, { developer_message: 'Invalid UserID', error_code: 'invalid_user_id' })
        const totals = subsectionTotals(course, key, student.id)
        const override = state.subsectionOverrides.get(`${student.id}|${key}`)
        return json(200, {
          success: true,
          subsection_id: key,
          user_id: student.id,
          course_id: course.id,
          original_grade: {
            earned_all: totals.earned,
            possible_all: totals.possible,
            earned_graded: totals.graded ? totals.earned : 0,
            possible_graded: totals.graded ? totals.possible : 0,
          },
          override: override === undefined ? null : { earned_all_override: override.earned, possible_all_override: override.possible, earned_graded_override: null, possible_graded_override: null },
          history: [],
        })
      }),
    },
    {
      name: 'blocks',
      method: 'GET',
      pattern: /^\/api\/courses\/v1\/blocks(?:\/([^/]+))?\/?$/,
      handle: withUser((ctx, user) => blocks(ctx, user)),
    },
    {
      // Course List API (`course_api/views.py` CourseListView): paginated, 404 past the last page.
      name: 'courses',
      method: 'GET',
      pattern: /^\/api\/courses\/v1\/courses\/?$/,
      handle: withUser(ctx => {
        const q = ctx.url.searchParams
        const pageSize = Math.min(Math.max(Number(q.get('page_size') ?? '10') || 10, 1), 100)
        const page = Math.max(Number(q.get('page') ?? '1') || 1, 1)
        const all = [...state.courses.values()]
        const numPages = Math.max(Math.ceil(all.length / pageSize), 1)
        if (page > numPages) return json(404, { detail: 'Invalid page.' })
        const results = all.slice((page - 1) * pageSize, page * pageSize).map(c => {
          const [org, number] = c.id.slice('course-v1:'.length).split('+')
          return { id: c.id, course_id: c.id, name: c.displayName, org, number, start: '2024-01-01T00:00:00Z', blocks_url: `${origin}/api/courses/v1/blocks/?course_id=${encodeURIComponent(c.id)}` }
        })
        const link = (n: number): string => `${origin}/api/courses/v1/courses/?page=${n}&page_size=${pageSize}`
        return json(200, { results, pagination: { next: page < numPages ? link(page + 1) : null, previous: page > 1 ? link(page - 1) : null, count: all.length, num_pages: numPages } })
      }),
    },
    {
      name: 'progress',
      method: 'GET',
      pattern: /^\/api\/course_home\/(?:v1\/)?progress\/([^/]+)\/([^/]+)\/?$/,
      handle: withUser((ctx, user) => {
        const [courseId, studentId] = ctx.params as [string, string]
        const course = findCourse(courseId)
        const student = state.users.get(Number(studentId))
        if (course === undefined || student === undefined) return json(404, undefined)
        if (student.id !== user.id && !user.isStaff) return json(403, undefined)
        // Grade APIs need an enrollment (the LMS's LTI provider renders content without one).
        if (state.enrollmentOf(student.username, courseId)?.isActive !== true) return json(404, undefined)
        const root = course.blocks.get(course.root)
        const sections = (root?.children ?? []).map(chapterKey => {
          const chapter = course.blocks.get(chapterKey)
          return {
            display_name: chapter?.displayName ?? '',
            subsections: (chapter?.children ?? []).map(seqKey => {
              const seq = course.blocks.get(seqKey)
              const totals = subsectionTotals(course, seqKey, student.id)
              return {
                assignment_type: seq?.format ?? null,
                block_key: seqKey,
                display_name: seq?.displayName ?? '',
                has_graded_assignment: totals.graded,
                learner_has_access: true,
                num_points_earned: totals.graded ? totals.earned : 0,
                num_points_possible: totals.graded ? totals.possible : 0,
                percent_graded: totals.graded && totals.possible > 0 ? totals.earned / totals.possible : 0,
                problem_scores: totals.scores,
                show_correctness: 'always',
                show_grades: true,
                url: `${origin}/courses/${courseId}/jump_to/${seqKey}`,
              }
            }),
          }
        })
        return json(200, { username: student.username, course_grade: { letter_grade: null, percent: 0, is_passing: false }, section_scores: sections, verified_mode: null })
      }),
    },
    {
      name: 'relay',
      method: 'POST',
      pattern: /^\/lti_provider\/courses\/([^/]+)\/([^/]+)\/?$/,
      handle: ctx => relay(ctx),
    },
    {
      name: 'jump-to',
      method: 'GET',
      pattern: /^\/courses\/([^/]+)\/jump_to\/([^/]+)\/?$/,
      handle: ctx => {
        const [courseId, key] = ctx.params as [string, string]
        const course = findCourse(courseId)
        if (course === undefined || !course.blocks.has(key)) return html(404, '<h1>Page not found</h1>')
        const seq = ancestorOfType(course, key, 'sequential')
        if (seq === null) return new Reply(302, '', { location: `${state.options.mfeUrl}/course/${courseId}/home` })
        const unit = ancestorOfType(course, key, 'vertical') ?? course.blocks.get(seq.children[0] ?? '') ?? null
        const tail = unit === null ? '' : `/${unit.key}`
        return new Reply(302, '', { location: `${state.options.mfeUrl}/course/${courseId}/${seq.key}${tail}` })
      },
    },
    {
      name: 'xblock',
      method: ['GET', 'POST'],
      pattern: /^\/xblock\/([^/]+)\/?$/,
      handle: ctx => {
        const key = ctx.params[0] as string
        const sid = cookieOf(ctx.req, 'sessionid')
        const username = sid === undefined ? undefined : state.sessions.get(sid)
        if (username === undefined) return new Reply(302, '', { location: `/login?next=${encodeURIComponent(ctx.url.pathname + ctx.url.search)}` })
        const course = courseOfBlock(key)
        const user = state.findUserByUsername(username)
        const enrolled = course !== undefined && state.enrollmentOf(username, course.id)?.isActive === true
        if (course === undefined || (!enrolled && user?.isStaff !== true)) return html(404, '<h1>Course not found</h1>')
        const block = course.blocks.get(key)
        return html(200, `<!doctype html><div class="xblock" data-usage-id="${escapeHtml(key)}">${escapeHtml(block?.displayName ?? '')}</div>`)
      },
    },
  ]

  function register (ctx: Ctx): Reply {
    if (state.registrationDisabled) return new Reply(403, 'Account creation not allowed.', { 'content-type': 'text/html; charset=utf-8' })
    // django-ratelimit with increment=True: every attempt counts.
    if (state.registrationRemaining !== null) {
      if (state.registrationRemaining <= 0) return json(403, { error_code: 'forbidden-request' })
      state.registrationRemaining--
    }
    const form = formOf(ctx)
    if (!form.has('terms_of_service') && form.has('honor_code')) form.set('terms_of_service', form.get('honor_code') as string)
    const errors: Record<string, Array<{ user_message: string }>> = {}
    const fail = (field: string, message: string): void => { (errors[field] ??= []).push({ user_message: message }) }
    const email = form.get('email') ?? ''
    const username = form.get('username') ?? ''
    const name = form.get('name') ?? ''
    const password = form.get('password') ?? ''
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email) || email.length < 3 || email.length > 254) fail('email', 'Enter a valid email address that contains at least 3 characters.')
    if (!/^[A-Za-z0-9_-]{2,30}$/.test(username)) fail('username', 'Usernames can only contain letters (A-Z, a-z), numerals (0-9), underscores (_), and hyphens (-).')
    if (name.length < 1 || name.length > 255) fail('name', 'Enter your full name.')
    if (password.length < 2 || password.length > 75) fail('password', 'This password is too short or too long.')
    else if (password === username) fail('password', 'The password is too similar to the username.')
    if (form.get('honor_code') !== 'true') fail('honor_code', 'You must agree to the Honor Code.')
    if (form.get('terms_of_service') !== 'true') fail('terms_of_service', 'You must agree to the Terms of Service.')
    for (const field of state.options.registrationRequiredFields) if ((form.get(field) ?? '') === '') fail(field, `${field} is required.`)
    if (Object.keys(errors).length > 0) return json(400, { ...errors, error_code: 'validation-error' })

    const emailTaken = state.findUserByEmail(email) !== undefined
    const usernameTaken = state.findUserByUsername(username) !== undefined
    if (emailTaken || usernameTaken) {
      const body: Record<string, unknown> = {}
      if (emailTaken) body.email = [{ user_message: `It looks like ${email} belongs to an existing account. Try again with a different email address.` }]
      if (usernameTaken) {
        body.username = [{ user_message: `It looks like ${username} belongs to an existing account. Try again with a different username.` }]
        body.username_suggestions = [1, 2, 3].map(() => `${username.slice(0, 24)}_${randomInt(1000, 9999)}`)
      }
      body.error_code = emailTaken && usernameTaken ? 'duplicate-email-username' : emailTaken ? 'duplicate-email' : 'duplicate-username'
      return json(409, body)
    }
    const user = state.addUser({ username, email, name, password, isActive: state.options.activateOnRegistration })
    // The registration view logs the new user in: cookies our client must ignore.
    const answer = state.options.legacyRegistrationAnswer
      ? { success: true, redirect_url: `${origin}/dashboard` }
      : { success: true, redirect_url: `${origin}/dashboard`, authenticated_user: { username: user.username, full_name: user.name, user_id: user.id } }
    return json(200, answer, {
      'set-cookie': [sessionCookie(user.username), `csrftoken=${randomBytes(16).toString('hex')}; Path=/; SameSite=None; Secure`],
    })
  }

  function blocks (ctx: Ctx, user: FakeUser): Reply {
    const q = ctx.url.searchParams
    const rootParam = ctx.params[0]
    let course: FakeCourse | undefined
    let rootKey: string
    if (rootParam !== undefined) {
      course = courseOfBlock(rootParam)
      rootKey = rootParam
    } else {
      course = findCourse(q.get('course_id') ?? '')
      rootKey = course?.root ?? ''
    }
    if (course === undefined) return json(404, { detail: 'Not found.' })
    const allBlocks = q.get('all_blocks') === 'true'
    const username = q.get('username') ?? (allBlocks ? null : user.username)
    if ((allBlocks || (username !== null && username !== user.username)) && !user.isStaff) return json(403, { detail: 'You do not have permission to perform this action.' })
    if (username !== null && state.findUserByUsername(username) === undefined) return json(404, { detail: 'Not found.' })
    const depthParam = q.get('depth') ?? '0'
    const maxDepth = depthParam === 'all' ? Infinity : Number(depthParam)
    const requested = new Set((q.get('requested_fields') ?? '').split(',').filter(f => f !== ''))
    const out: Record<string, Record<string, unknown>> = {}
    const visit = (key: string, depth: number): void => {
      const b = course.blocks.get(key)
      if (b === undefined) return
      const entry: Record<string, unknown> = {
        id: b.key,
        block_id: b.blockId,
        lms_web_url: `${origin}/courses/${course.id}/jump_to/${b.key}`,
        legacy_web_url: `${origin}/courses/${course.id}/jump_to/${b.key}?experience=legacy`,
        student_view_url: `${origin}/xblock/${b.key}`,
        type: b.type,
        display_name: b.displayName,
      }
      if (requested.has('children') && b.children.length > 0 && depth < maxDepth) entry.children = [...b.children]
      if (requested.has('graded')) entry.graded = b.graded
      if (requested.has('format')) entry.format = b.format
      if (requested.has('has_score')) entry.has_score = b.maxScore !== null
      if (requested.has('weight') && b.maxScore !== null) entry.weight = b.weight
      if (requested.has('due')) entry.due = null
      if (requested.has('show_correctness')) entry.show_correctness = 'always'
      out[key] = entry
      if (depth < maxDepth) for (const child of b.children) visit(child, depth + 1)
    }
    visit(rootKey, 0)
    const blockList = q.get('return_type') === 'list' ? Object.values(out) : out
    return json(200, { root: rootKey, blocks: blockList })
  }

  function relay (ctx: Ctx): Reply {
    const [courseId, usageId] = ctx.params as [string, string]
    const form = formOf(ctx)
    const record = (status: number, username: string | null): void => {
      state.relayLaunches.push({ courseId, usageId, form: Object.fromEntries(form), status, username })
    }
    if (!state.relayEnabled) { record(403, null); return html(403, '') }
    const required = ['roles', 'context_id', 'oauth_version', 'oauth_consumer_key', 'oauth_signature', 'oauth_signature_method', 'oauth_timestamp', 'oauth_nonce', 'user_id']
    if (required.some(p => !form.has(p))) { record(400, null); return html(400, '') }
    const consumer = state.options.ltiConsumers.find(c => c.key === form.get('oauth_consumer_key'))
    if (consumer === undefined) { record(403, null); return html(403, '') }
    // oauthlib over request.build_absolute_uri(): Django re-quotes the decoded path.
    const uri = baseStringUri(origin, djangoEscapeUriPath(decodeURIComponent(ctx.rawPath)))
    const params: Array<[string, string]> = [...new URLSearchParams(ctx.body), ...ctx.url.searchParams]
    const expected = hmacSha1Signature(signatureBaseString('POST', uri, params), consumer.secret)
    const timestamp = Number(form.get('oauth_timestamp'))
    const fresh = Number.isFinite(timestamp) && Math.abs(now() / 1000 - timestamp) <= 600
    if (form.get('oauth_signature_method') !== 'HMAC-SHA1' || !fresh || !signaturesEqual(expected, form.get('oauth_signature') ?? '')) {
      record(403, null)
      return html(403, '')
    }
    const course = findCourse(courseId)
    if (course === undefined || !course.blocks.has(usageId)) { record(404, null); return html(404, '<h1>Page not found</h1>') }

    const ltiUserId = form.get('user_id') as string
    let user: FakeUser | undefined
    if (consumer.usePii ?? true) {
      // use_lti_pii: link an existing account with this email, else create exactly this username.
      const email = (form.get('lis_person_contact_email_primary') ?? '').toLowerCase()
      user = email === '' ? undefined : state.findUserByEmail(email)
      if (user === undefined) {
        if (state.findUserByUsername(ltiUserId) !== undefined) { record(500, null); return html(500, '<h1>Server error (IntegrityError)</h1>') }
        user = state.addUser({ username: ltiUserId, email: email === '' ? `${ltiUserId}@${state.options.ltiUserEmailDomain}` : email, name: form.get('lis_person_name_full') ?? '' })
      }
    } else {
      const mapKey = `${consumer.key}|${ltiUserId}`
      const existing = state.ltiUsers.get(mapKey)
      user = existing === undefined ? undefined : state.findUserByUsername(existing)
      if (user === undefined) {
        const username = randomBytes(30).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 30)
        user = state.addUser({ username, email: `${username}@${state.options.ltiUserEmailDomain}` })
        state.ltiUsers.set(mapKey, username)
      }
    }
    record(200, user.username)
    const block = course.blocks.get(usageId)
    return html(200, `<!doctype html><div class="xblock" data-usage-id="${escapeHtml(usageId)}">${escapeHtml(block?.displayName ?? '')}</div>`, {
      'set-cookie': sessionCookie(user.username),
    })
  }

  const held = new Set<Socket>()
  const barriers = new Map<FakeLmsRoute, { count: number, waiting: Array<() => void> }>()
  const holds = new Map<FakeLmsRoute, { arrive: () => void, released: Promise<void> }>()
  const passBarrier = async (name: FakeLmsRoute): Promise<void> => {
    const hold = holds.get(name)
    if (hold !== undefined) {
      holds.delete(name)
      hold.arrive()
      await hold.released
    }
    const barrier = barriers.get(name)
    if (barrier === undefined) return
    await new Promise<void>(resolve => {
      barrier.waiting.push(resolve)
      if (barrier.waiting.length >= barrier.count) {
        barriers.delete(name)
        for (const release of barrier.waiting) release()
      }
    })
  }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', origin)
        const rawPath = (req.url ?? '/').split('?')[0] as string
        const body = Buffer.concat(chunks).toString('utf8')
        let matched: { route: RouteDef, params: Array<string | undefined> } | undefined
        for (const route of routes) {
          const m = route.pattern.exec(rawPath)
          const methods = typeof route.method === 'string' ? [route.method] : route.method
          if (m !== null && methods.includes(req.method ?? '')) {
            matched = { route, params: m.slice(1).map(p => p === undefined ? undefined : decodeURIComponent(p)) }
            break
          }
        }
        const name: FakeLmsRoute = matched?.route.name ?? 'unknown'
        state.countCall(name)
        state.requests.push({ route: name, method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers }, body })
        await passBarrier(name)
        const fault = state.takeFault(name)
        if (fault !== undefined) {
          if (fault.fault === 'timeout') { held.add(req.socket); return }
          if (fault.fault === 'reset') { req.socket.destroy(); return }
          if (fault.fault === 'garbage') { res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Bad gateway</body></html>'); return }
          const headers: Record<string, string> = { 'content-type': 'application/json' }
          if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter
          res.writeHead(fault.fault, headers).end(JSON.stringify(fault.fault === 429 ? { detail: 'Request was throttled.' } : { detail: 'Server error.' }))
          return
        }
        let reply: Reply
        try {
          reply = matched === undefined ? html(404, '<h1>Page not found</h1>') : await matched.route.handle({ req, url, rawPath, body, params: matched.params })
        } catch (err) {
          reply = html(500, `<h1>Server error</h1><pre>${escapeHtml(String(err))}</pre>`)
        }
        res.writeHead(reply.status, reply.headers).end(reply.body)
      })()
    })
  })
  await new Promise<void>(resolve => server.listen(opts.port ?? 0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url: origin,
    state,
    barrier: (route, count) => { barriers.set(route, { count, waiting: [] }) },
    hold: route => {
      let arrive = (): void => {}
      let release = (): void => {}
      const arrived = new Promise<void>(resolve => { arrive = resolve })
      const released = new Promise<void>(resolve => { release = resolve })
      holds.set(route, { arrive, released })
      return { arrived, release }
    },
    close: async () => {
      for (const socket of held) socket.destroy()
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
}
