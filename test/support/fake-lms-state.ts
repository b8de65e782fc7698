import { randomBytes } from 'node:crypto'
import { buildCourse, type FakeCourse, type FakeCourseSpec, type RawScore } from './fake-lms-course.js'

/** Route names of the fake LMS, for call counters and fault switches. */
export const FAKE_LMS_ROUTES = [
  'token', 'me', 'accounts', 'account', 'search-emails', 'registration',
  'enrollment-get', 'enrollment-post', 'subsection-grade', 'blocks', 'courses', 'progress',
  'relay', 'jump-to', 'xblock', 'unknown',
] as const
export type FakeLmsRoute = typeof FAKE_LMS_ROUTES[number]

/**
 * 5xx/429 answer with a JSON body, a request that is never answered, a reset connection, or a
 * 200 whose body is an HTML error page instead of JSON (what a misrouted proxy returns).
 */
export type FakeFault = 500 | 502 | 503 | 504 | 429 | 'timeout' | 'reset' | 'garbage'

export interface FakeUser {
  readonly id: number
  username: string
  email: string
  name: string
  password: string | null
  isActive: boolean
  isStaff: boolean
  readonly dateJoined: string
}

export interface FakeEnrollment {
  readonly username: string
  readonly courseId: string
  mode: string
  isActive: boolean
  readonly created: string
}

export interface FakeLtiConsumer {
  readonly key: string
  readonly secret: string
  /** `LtiConsumer.use_lti_pii`: username = LTI user_id, email = lis_person_contact_email_primary; link by email. */
  readonly usePii?: boolean
}

export interface FakeRelayLaunch {
  readonly courseId: string
  readonly usageId: string
  /** Every form field as posted (last value wins for repeated names). */
  readonly form: Readonly<Record<string, string>>
  readonly status: number
  /** The LMS account the launch logged in, when it got that far. */
  readonly username: string | null
}

export interface FakeRequestRecord {
  readonly route: FakeLmsRoute
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly body: string
}

export interface FakeToken {
  readonly userId: number
  readonly scheme: 'JWT' | 'Bearer'
  readonly expiresAt: number
}

export interface FakeLmsStateOptions {
  readonly clientId: string
  readonly clientSecret: string
  readonly tokenTtlSeconds: number
  readonly supportsJwt: boolean
  readonly serviceUser: { readonly username: string, readonly email: string, readonly isStaff: boolean }
  readonly registrationLimit: number | null
  readonly registrationDisabled: boolean
  readonly registrationRequiredFields: readonly string[]
  readonly activateOnRegistration: boolean
  readonly legacyRegistrationAnswer: boolean
  readonly courses: readonly FakeCourseSpec[]
  readonly ltiConsumers: readonly FakeLtiConsumer[]
  readonly ltiUserEmailDomain: string
  readonly relayEnabled: boolean
  readonly mfeUrl: string
  readonly now: () => number
}

/**
 * Everything the fake LMS knows, open to tests: seed users and enrollments, set scores, arm
 * faults, read counters and what was posted.
 */
export class FakeLmsState {
  readonly options: FakeLmsStateOptions
  readonly users = new Map<number, FakeUser>()
  readonly courses = new Map<string, FakeCourse>()
  /** Key: `${username}|${courseId}`. */
  readonly enrollments = new Map<string, FakeEnrollment>()
  /** Raw (unweighted) scores; key `${userId}|${usageKey}`. */
  readonly problemScores = new Map<string, RawScore>()
  /** Subsection grade overrides; key `${userId}|${usageKey}`. */
  readonly subsectionOverrides = new Map<string, { earned: number | null, possible: number | null }>()
  readonly retiredEmails = new Set<string>()
  readonly tokens = new Map<string, FakeToken>()
  /** Session cookie value → username (registration and relay launches log the browser in). */
  readonly sessions = new Map<string, string>()
  /** `LtiUser`: `${consumerKey}|${lti user_id}` → username, for PII-less relay launches. */
  readonly ltiUsers = new Map<string, string>()
  readonly relayLaunches: FakeRelayLaunch[] = []
  readonly requests: FakeRequestRecord[] = []
  readonly serviceUser: FakeUser
  /** Registrations still accepted before the rate limit answers 403 forbidden-request (null: no limit). */
  registrationRemaining: number | null
  registrationDisabled: boolean
  supportsJwt: boolean
  relayEnabled: boolean
  private nextUserId = 1
  private readonly calls = new Map<FakeLmsRoute, number>()
  private readonly faults = new Map<FakeLmsRoute, Array<{ fault: FakeFault, retryAfter: string | undefined }>>()

  constructor (options: FakeLmsStateOptions) {
    this.options = options
    this.registrationRemaining = options.registrationLimit
    this.registrationDisabled = options.registrationDisabled
    this.supportsJwt = options.supportsJwt
    this.relayEnabled = options.relayEnabled
    for (const spec of options.courses) this.addCourse(spec)
    this.serviceUser = this.addUser({ ...options.serviceUser, name: 'LTI service', isActive: true })
  }

  addCourse (spec: FakeCourseSpec): FakeCourse {
    const course = buildCourse(spec)
    this.courses.set(course.id, course)
    return course
  }

  addUser (spec: { username: string, email: string, name?: string, password?: string | null, isActive?: boolean, isStaff?: boolean }): FakeUser {
    const user: FakeUser = {
      id: this.nextUserId++,
      username: spec.username,
      email: spec.email,
      name: spec.name ?? spec.username,
      password: spec.password ?? null,
      isActive: spec.isActive ?? true,
      isStaff: spec.isStaff ?? false,
      dateJoined: new Date(this.options.now()).toISOString().replace(/\.\d+Z$/, 'Z'),
    }
    this.users.set(user.id, user)
    return user
  }

  /** MySQL's default collation compares usernames and emails case-insensitively; so does the fake. */
  findUserByUsername (username: string): FakeUser | undefined {
    const wanted = username.toLowerCase()
    return [...this.users.values()].find(u => u.username.toLowerCase() === wanted)
  }

  findUserByEmail (email: string): FakeUser | undefined {
    const wanted = email.toLowerCase()
    return [...this.users.values()].find(u => u.email.toLowerCase() === wanted)
  }

  enroll (username: string, courseId: string, mode = 'audit', isActive = true): FakeEnrollment {
    const key = `${username}|${courseId}`
    const existing = this.enrollments.get(key)
    if (existing !== undefined) {
      existing.mode = mode
      existing.isActive = isActive
      return existing
    }
    const enrollment: FakeEnrollment = { username, courseId, mode, isActive, created: new Date(this.options.now()).toISOString() }
    this.enrollments.set(key, enrollment)
    return enrollment
  }

  enrollmentOf (username: string, courseId: string): FakeEnrollment | undefined {
    return this.enrollments.get(`${username}|${courseId}`)
  }

  /** Records a learner's raw score on a problem, as CAPA would persist it. */
  setProblemScore (username: string, usageKey: string, earned: number, possible: number): void {
    const user = this.findUserByUsername(username)
    if (user === undefined) throw new Error(`fake LMS: no user ${username}`)
    this.problemScores.set(`${user.id}|${usageKey}`, { earned, possible })
  }

  retireEmail (email: string): void {
    this.retiredEmails.add(email.toLowerCase())
  }

  /** Issues a token for the service user outside the token endpoint (tests of authenticated routes). */
  issueToken (scheme: 'JWT' | 'Bearer', ttlSeconds = this.options.tokenTtlSeconds): string {
    const token = scheme === 'JWT' ? fakeJwt(this.serviceUser, ttlSeconds, this.options.now()) : randomBytes(15).toString('hex')
    this.tokens.set(token, { userId: this.serviceUser.id, scheme, expiresAt: this.options.now() + ttlSeconds * 1000 })
    return token
  }

  /** Makes every issued token invalid (as a key rotation or revocation would). */
  revokeTokens (): void {
    this.tokens.clear()
  }

  /** The next `count` calls of `route` fail with `fault`; a `retryAfter` value is sent with 429/503. */
  failNext (route: FakeLmsRoute, count: number, fault: FakeFault, options: { retryAfter?: string | number } = {}): void {
    const queue = this.faults.get(route) ?? []
    for (let i = 0; i < count; i++) queue.push({ fault, retryAfter: options.retryAfter === undefined ? undefined : String(options.retryAfter) })
    this.faults.set(route, queue)
  }

  takeFault (route: FakeLmsRoute): { fault: FakeFault, retryAfter: string | undefined } | undefined {
    return this.faults.get(route)?.shift()
  }

  countCall (route: FakeLmsRoute): void {
    this.calls.set(route, (this.calls.get(route) ?? 0) + 1)
  }

  /** Requests received on `route` (faulted ones included). */
  callCount (route: FakeLmsRoute): number {
    return this.calls.get(route) ?? 0
  }

  /** Drops every armed fault (a test's "the LMS is back"). */
  clearFaults (): void {
    this.faults.clear()
  }

  resetCounters (): void {
    this.calls.clear()
    this.requests.length = 0
  }
}

function base64url (value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** A token shaped like the LMS's JWTs (header.payload.signature); the fake checks it by lookup, not by signature. */
export function fakeJwt (user: FakeUser, ttlSeconds: number, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000)
  const payload = {
    iss: 'http://fake-lms/oauth2',
    aud: 'openedx',
    sub: `fake-${user.id}`,
    preferred_username: user.username,
    administrator: user.isStaff,
    scopes: ['read', 'write', 'email', 'profile'],
    filters: [],
    is_restricted: false,
    iat,
    exp: iat + ttlSeconds,
    jti: randomBytes(8).toString('hex'),
  }
  return `${base64url({ alg: 'RS512', typ: 'JWT' })}.${base64url(payload)}.${randomBytes(32).toString('base64url')}`
}
