import { setTimeout as delay } from 'node:timers/promises'
import type { OutboundClient, OutboundResponse } from '../http/outbound-client.js'
import { createOutboundClient } from '../http/outbound-client.js'
import type { Resolver } from '../http/resolver.js'
import { contentUrls, type ContentUrls, type MfeLocation } from './content-urls.js'
import { lmsError } from './errors.js'
import { asArray, asRecord, num, optStr, parseJson, str } from './json-shape.js'
import { courseModesOf, parseAccount, parseBlockTree, parseCoursePage, parseEnrollment, parseProgress, parseSubsectionScore } from './lms-parsers.js'
import { LmsTransport, pathSegment, type LmsCall } from './lms-transport.js'
import type {
  CreatedLmsUser, LmsAccount, LmsBlockTree, LmsCoursePage, LmsEnrollment, LmsProgress, NewLmsUser, ServiceIdentity, SubsectionScore,
} from './lms-types.js'
import { isBlockKey, isCourseKey } from './opaque-keys.js'
import { ServiceTokenCache, type IssuedToken, type ServiceToken } from './service-token.js'

export interface LmsClientOptions {
  /** LMS_URL: base URL of the Open edX LMS (`https://lms.example.edu`, `http://lms:8000`). */
  readonly lmsUrl: string
  /** LMS_CLIENT_ID / LMS_CLIENT_SECRET: an unrestricted DOT application owned by a global-staff user. */
  readonly clientId: string
  readonly clientSecret: string
  /** Per attempt; default 10 s. */
  readonly timeoutMs?: number
  /** Sees every settled call: name, outcome ('ok', 'http_<status>', LMS_* code), seconds. */
  readonly observe?: ((call: string, outcome: string, seconds: number) => void) | undefined
  /** Retries after the first attempt on 5xx/429/transient failures; default 2. */
  readonly retries?: number
  readonly retryBaseDelayMs?: number
  readonly retryMaxDelayMs?: number
  /** A Retry-After longer than this fails the call at once instead of holding a launch; default 10 s. */
  readonly maxRetryAfterMs?: number
  /** Fields the LMS's REGISTRATION_EXTRA_FIELDS make required (e.g. `{ country: 'US' }`). */
  readonly registrationExtraFields?: Readonly<Record<string, string>>
  /** How long to stop calling registration after a `forbidden-request` answer; default 1 h. */
  readonly registrationCooldownMs?: number
  /** Outbound client; by default a `trusted-lms` one (the LMS lives beside us). */
  readonly http?: OutboundClient
  /** Resolver for the default outbound client (tests). */
  readonly resolver?: Resolver
  readonly now?: () => number
  readonly sleep?: (ms: number) => Promise<void>
  readonly random?: () => number
}

/**
 * The Blocks API answers about 300 bytes per block: a 5,000-block course is 1.5 MB, over the
 * outbound client's 1 MB default. The LMS is configuration, not launch data, so its trees may be larger.
 */
const BLOCK_TREE_MAX_BYTES = 32 * 1024 * 1024

const REQUESTED_BLOCK_FIELDS = 'children,type,display_name,has_score,weight,graded,format,due,show_correctness'

/** Usernames the LMS can hold never contain these; the list lookup would split on the comma. */
const IMPOSSIBLE_USERNAME = /[,\s/]/

function errorCodeOf (body: unknown): string | null {
  return typeof body === 'object' && body !== null && typeof (body as Record<string, unknown>).error_code === 'string'
    ? (body as Record<string, string>).error_code as string
    : null
}

/** The OAuth2 `error` of a token endpoint answer that names a client problem, or null. */
function oauthError (res: OutboundResponse): string | null {
  const body = tryJson(res)
  const error = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).error : undefined
  return error === 'invalid_client' || error === 'unauthorized_client' || error === 'invalid_grant' || error === 'unsupported_grant_type'
    ? error
    : null
}

function tryJson (res: OutboundResponse): unknown {
  try {
    return JSON.parse(res.body.toString('utf8'))
  } catch {
    return null
  }
}

/**
 * The Open edX LMS REST client for launches (openedx-rest.md §9: calls #1–8, #10–12, #15).
 * Framework-free; configuration arrives as options. Secrets, tokens and emails never go into
 * error details.
 */
export class LmsClient {
  private readonly http: OutboundClient
  private readonly ownsHttp: boolean
  private readonly baseUrl: URL
  private readonly transport: LmsTransport
  private readonly tokens: ServiceTokenCache
  private readonly now: () => number
  /** Old LMS releases refuse `token_type=jwt`; remembered so we ask for an opaque token directly. */
  private jwtUnsupported = false
  private registrationBlockedUntil: number | null = null

  private readonly options: LmsClientOptions

  constructor (options: LmsClientOptions) {
    this.options = options
    try {
      this.baseUrl = new URL(options.lmsUrl)
    } catch {
      throw new TypeError('lmsUrl must be an absolute URL')
    }
    this.now = options.now ?? Date.now
    this.ownsHttp = options.http === undefined
    this.http = options.http ?? createOutboundClient({ mode: 'trusted-lms', timeoutMs: options.timeoutMs ?? 10_000, resolver: options.resolver })
    this.tokens = new ServiceTokenCache(() => this.issueToken(), this.now)
    this.transport = new LmsTransport({
      http: this.http,
      baseUrl: this.baseUrl,
      timeoutMs: options.timeoutMs ?? 10_000,
      retries: options.retries ?? 2,
      backoff: { baseDelayMs: options.retryBaseDelayMs ?? 250, maxDelayMs: options.retryMaxDelayMs ?? 4_000 },
      maxRetryAfterMs: options.maxRetryAfterMs ?? 10_000,
      observe: options.observe,
      token: () => this.tokens.get(),
      invalidateToken: t => this.tokens.invalidate(t),
      now: this.now,
      sleep: options.sleep ?? (ms => delay(ms)),
      random: options.random ?? Math.random,
    })
  }

  /** The LMS base URL without a trailing slash. */
  get lmsUrl (): string {
    return this.baseUrl.href.replace(/\/$/, '')
  }

  async close (): Promise<void> {
    if (this.ownsHttp) await this.http.close()
  }

  /** #1: the service user's token, cached until `expires_in − 60 s`, one request for concurrent callers. */
  getServiceToken (): Promise<ServiceToken> {
    return this.tokens.get()
  }

  private requestToken (jwt: boolean): Promise<OutboundResponse> {
    const form: Record<string, string> = {
      grant_type: 'client_credentials',
      client_id: this.options.clientId,
      client_secret: this.options.clientSecret,
    }
    if (jwt) form.token_type = 'jwt'
    return this.send({ name: 'token', method: 'POST', path: '/oauth2/access_token', form, auth: 'none' })
  }

  private async issueToken (): Promise<IssuedToken> {
    let res = await this.requestToken(!this.jwtUnsupported)
    if (res.status === 400 && !this.jwtUnsupported && oauthError(res) === null) {
      // An LMS without JWT support refuses token_type=jwt: ask for an opaque Bearer token instead.
      res = await this.requestToken(false)
      if (res.status === 200) this.jwtUnsupported = true
    }
    if (res.status === 400 || res.status === 401) {
      throw lmsError('LMS_AUTH_FAILED', { call: 'token', status: res.status, error: oauthError(res) ?? undefined })
    }
    if (res.status !== 200) throw this.unexpected('token', res)
    const r = asRecord(parseJson(res.body, 'token'), 'token')
    const tokenType = (optStr(r, 'token_type') ?? '').toLowerCase()
    return {
      accessToken: str(r, 'access_token', 'token'),
      scheme: tokenType === 'jwt' ? 'JWT' : 'Bearer',
      expiresInSeconds: num(r, 'expires_in', 'token'),
    }
  }

  /** #2: who the service user is, and whether it is global staff (startup check). */
  async whoAmI (): Promise<ServiceIdentity> {
    const me = await this.send({ name: 'me', method: 'GET', path: '/api/user/v1/me', auth: 'service' })
    if (me.status !== 200) throw this.unexpected('me', me)
    const username = str(asRecord(parseJson(me.body, 'me'), 'me'), 'username', 'me')
    const own = await this.send({ name: 'own-account', method: 'GET', path: `/api/user/v1/accounts/${pathSegment(username)}`, auth: 'service' })
    if (own.status !== 200) throw this.unexpected('own-account', own)
    const email = parseAccount(parseJson(own.body, 'own-account')).email
    if (email === null || email === '') return { username, isStaff: false }
    // Only staff may look accounts up by email (CanGetAccountInfo): 200 proves it, 403 disproves it.
    const probe = await this.send({ name: 'staff-probe', method: 'GET', path: '/api/user/v1/accounts', query: { email }, auth: 'service' })
    if (probe.status === 200) return { username, isStaff: true }
    if (probe.status === 403) return { username, isStaff: false }
    throw this.unexpected('staff-probe', probe)
  }

  /** #3: the account with this username, or null. */
  async findUserByUsername (username: string): Promise<LmsAccount | null> {
    if (username === '' || IMPOSSIBLE_USERNAME.test(username)) return null
    return this.findAccount('find-by-username', { username })
  }

  /** #4: the account with this email, or null; LMS_EMAIL_RETIRED when it belonged to a deleted account. */
  async findUserByEmail (email: string): Promise<LmsAccount | null> {
    if (email.trim() === '') return null
    return this.findAccount('find-by-email', { email })
  }

  /** #5: the account with this LMS user id, or null. */
  async findUserById (id: number): Promise<LmsAccount | null> {
    if (!Number.isSafeInteger(id) || id <= 0) return null
    return this.findAccount('find-by-id', { lms_user_id: String(id) })
  }

  private async findAccount (name: string, query: Record<string, string>): Promise<LmsAccount | null> {
    const res = await this.send({ name, method: 'GET', path: '/api/user/v1/accounts', query, auth: 'service' })
    if (res.status === 404) {
      const body = tryJson(res)
      if (typeof body === 'object' && body !== null && 'retirement_id' in body) throw lmsError('LMS_EMAIL_RETIRED', { call: name })
      return null
    }
    if (res.status !== 200) throw this.unexpected(name, res)
    const accounts = asArray(parseJson(res.body, name), name).map(parseAccount)
    if (query.username !== undefined) {
      // MySQL collations compare case-insensitively: prefer the exact spelling when several come back.
      return accounts.find(a => a.username === query.username) ?? accounts[0] ?? null
    }
    return accounts[0] ?? null
  }

  /** Epoch ms until which registration is not attempted after a `forbidden-request`, or null. */
  registrationPausedUntil (): number | null {
    if (this.registrationBlockedUntil !== null && this.now() >= this.registrationBlockedUntil) this.registrationBlockedUntil = null
    return this.registrationBlockedUntil
  }

  /**
   * #6: registers an account through the registration API (form-encoded, honor code and terms
   * accepted). LMS_USER_CONFLICT on 409 (details: `errorCode`, `fields`, `usernameSuggestions`),
   * LMS_REGISTRATION_INVALID on 400 (details: `fields`), LMS_REGISTRATION_RATE_LIMITED on the 403
   * `forbidden-request` rate limit (and for `registrationCooldownMs` after it, without calling),
   * LMS_REGISTRATION_FORBIDDEN on other 403s. The last two mean: create the account through the
   * relay instead (openedx-rest.md §3.1). The login cookies of the 200 answer are dropped.
   */
  async createUser (user: NewLmsUser): Promise<CreatedLmsUser> {
    const pausedUntil = this.registrationPausedUntil()
    if (pausedUntil !== null) throw lmsError('LMS_REGISTRATION_RATE_LIMITED', { call: 'register', pausedUntil: new Date(pausedUntil).toISOString() })
    const form = {
      ...this.options.registrationExtraFields,
      email: user.email,
      name: user.name,
      username: user.username,
      password: user.password,
      honor_code: 'true',
      terms_of_service: 'true',
    }
    const res = await this.send({ name: 'register', method: 'POST', path: '/api/user/v1/account/registration/', form, auth: 'none' })
    const body = tryJson(res)
    if (res.status === 200) {
      const created = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).authenticated_user : undefined
      if (typeof created === 'object' && created !== null) {
        const r = created as Record<string, unknown>
        if (typeof r.user_id === 'number' && typeof r.username === 'string') return { userId: r.user_id, username: r.username }
      }
      // Older releases answer only {success, redirect_url}: read the id back.
      const account = await this.findUserByUsername(user.username)
      if (account === null) throw lmsError('LMS_BAD_RESPONSE', { call: 'register', reason: 'created-user-not-found' })
      return { userId: account.id, username: account.username }
    }
    const errorCode = errorCodeOf(body)
    // Field names only: the LMS's user_message texts can repeat the email.
    const fields = typeof body === 'object' && body !== null
      ? Object.keys(body).filter(k => k !== 'error_code' && k !== 'username_suggestions')
      : []
    if (res.status === 409) {
      const suggestions = (body as Record<string, unknown> | null)?.username_suggestions
      throw lmsError('LMS_USER_CONFLICT', {
        call: 'register',
        errorCode,
        fields,
        usernameSuggestions: Array.isArray(suggestions) ? suggestions.filter(s => typeof s === 'string') : [],
      })
    }
    if (res.status === 400) throw lmsError('LMS_REGISTRATION_INVALID', { call: 'register', errorCode, fields })
    if (res.status === 403) {
      if (errorCode === 'forbidden-request') {
        this.registrationBlockedUntil = this.now() + (this.options.registrationCooldownMs ?? 3_600_000)
        throw lmsError('LMS_REGISTRATION_RATE_LIMITED', { call: 'register', errorCode })
      }
      throw lmsError('LMS_REGISTRATION_FORBIDDEN', { call: 'register', errorCode })
    }
    throw this.unexpected('register', res)
  }

  /** #7: the user's enrollment in the course (active or not), or null when there is none. */
  async getEnrollment (username: string, courseId: string): Promise<LmsEnrollment | null> {
    this.assertCourse(courseId)
    const res = await this.send({
      name: 'get-enrollment',
      method: 'GET',
      path: `/api/enrollment/v1/enrollment/${pathSegment(username)},${pathSegment(courseId)}`,
      auth: 'service',
    })
    if (res.status === 404) return null
    if (res.status !== 200) throw this.unexpected('get-enrollment', res)
    // DRF renders `None` (no enrollment) as an empty body.
    if (res.body.length === 0) return null
    const body = parseJson(res.body, 'get-enrollment')
    return body === null ? null : parseEnrollment(body)
  }

  /**
   * #8: enrolls (or re-activates) the user. A 403 (invite-only, closed enrollment, expired mode)
   * is retried once with `force_enrollment` (global staff may); 406 → LMS_USER_NOT_FOUND;
   * other refusals → LMS_ENROLLMENT_REFUSED with the course's mode slugs when the LMS gave them.
   */
  async enroll (username: string, courseId: string, mode = 'audit'): Promise<LmsEnrollment> {
    this.assertCourse(courseId)
    const payload = { user: username, course_details: { course_id: courseId }, mode, is_active: true }
    let res = await this.send({ name: 'enroll', method: 'POST', path: '/api/enrollment/v1/enrollment', json: payload, auth: 'service' })
    let forced = false
    if (res.status === 403) {
      forced = true
      res = await this.send({ name: 'enroll-forced', method: 'POST', path: '/api/enrollment/v1/enrollment', json: { ...payload, force_enrollment: true }, auth: 'service' })
    }
    if (res.status === 200) return parseEnrollment(parseJson(res.body, 'enroll'))
    if (res.status === 406) throw lmsError('LMS_USER_NOT_FOUND', { call: 'enroll' })
    if (res.status === 400 || res.status === 403) {
      throw lmsError('LMS_ENROLLMENT_REFUSED', { call: 'enroll', status: res.status, forced, mode, courseModes: courseModesOf(tryJson(res)) })
    }
    // Enrolling someone else without staff rights is answered with a deliberate 404.
    if (res.status === 404) throw lmsError('LMS_PERMISSION_DENIED', { call: 'enroll', status: 404 })
    throw this.unexpected('enroll', res)
  }

  /** #10: the persisted subsection grade of a sequential for a user, or null when the LMS does not know the block. */
  async getSubsectionScore (sequentialKey: string, userId: number): Promise<SubsectionScore | null> {
    this.assertBlock(sequentialKey)
    const res = await this.send({
      name: 'subsection-grade',
      method: 'GET',
      path: `/api/grades/v1/subsection/${pathSegment(sequentialKey)}/`,
      query: { user_id: String(userId) },
      auth: 'service',
    })
    if (res.status === 404) return null
    if (res.status !== 200) throw this.unexpected('subsection-grade', res)
    return parseSubsectionScore(parseJson(res.body, 'subsection-grade'))
  }

  /**
   * #11: the block tree below `rootKey` as `username` sees it, or null when unknown. Without a
   * username, the whole structure (`all_blocks=true`, staff only): what the Deep Linking picker shows.
   */
  async getBlockTree (rootKey: string, username: string | null): Promise<LmsBlockTree | null> {
    this.assertBlock(rootKey)
    const who: Record<string, string> = username === null ? { all_blocks: 'true' } : { username }
    const res = await this.send({
      name: 'blocks',
      method: 'GET',
      path: `/api/courses/v1/blocks/${pathSegment(rootKey)}/`,
      query: { ...who, depth: 'all', return_type: 'dict', requested_fields: REQUESTED_BLOCK_FIELDS },
      auth: 'service',
      maxBytes: BLOCK_TREE_MAX_BYTES,
    })
    if (res.status === 404) return null
    if (res.status !== 200) throw this.unexpected('blocks', res)
    return parseBlockTree(parseJson(res.body, 'blocks'))
  }

  /** Course List API, one page (1-based) of every course the service user sees. */
  async listCourses (page: number, pageSize = 100): Promise<LmsCoursePage> {
    const res = await this.send({
      name: 'courses',
      method: 'GET',
      path: '/api/courses/v1/courses/',
      query: { page: String(page), page_size: String(pageSize) },
      auth: 'service',
    })
    // Past the last page the API answers 404: nothing more.
    if (res.status === 404) return { courses: [], hasNext: false }
    if (res.status !== 200) throw this.unexpected('courses', res)
    return parseCoursePage(parseJson(res.body, 'courses'))
  }

  /** #12: the learner's progress page data (per-subsection problem scores), or null when unavailable. */
  async getProgress (courseId: string, userId: number): Promise<LmsProgress | null> {
    this.assertCourse(courseId)
    for (const prefix of ['/api/course_home/progress', '/api/course_home/v1/progress']) {
      const res = await this.send({ name: 'progress', method: 'GET', path: `${prefix}/${pathSegment(courseId)}/${userId}/`, auth: 'service' })
      if (res.status === 404) continue
      if (res.status !== 200) throw this.unexpected('progress', res)
      return parseProgress(parseJson(res.body, 'progress'))
    }
    return null
  }

  /** #15: LMS URLs of a block (pure). */
  contentUrls (courseId: string, blockKey: string, mfe?: MfeLocation): ContentUrls {
    return contentUrls(this.lmsUrl, courseId, blockKey, mfe)
  }

  private send (call: LmsCall): Promise<OutboundResponse> {
    return this.transport.send(call)
  }

  private assertCourse (courseId: string): void {
    if (!isCourseKey(courseId)) throw lmsError('LMS_CONTENT_KEY_INVALID', { field: 'courseId' })
  }

  private assertBlock (blockKey: string): void {
    if (!isBlockKey(blockKey)) throw lmsError('LMS_CONTENT_KEY_INVALID', { field: 'blockKey' })
  }

  private unexpected (call: string, res: OutboundResponse): Error {
    if (res.status === 403) return lmsError('LMS_PERMISSION_DENIED', { call, status: 403 })
    return lmsError('LMS_BAD_RESPONSE', { call, status: res.status })
  }
}
