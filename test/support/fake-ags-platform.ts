/**
 * An LTI 1.3 AGS platform shaped like Open edX's (xblock-lti-consumer, wire-formats.md §7–§8):
 * node:http on 127.0.0.1, port 0.
 * - Token endpoint: form POST, `grant_type` exactly `client_credentials`, the client assertion
 *   verified against the TOOL's JWKS (fetched through `toolJwks` on every request, as Open edX
 *   does), iss = sub = client_id, aud = the token URL, lifetime ≤ 5 min, `jti` single use; answers
 *   `{access_token, token_type: "bearer", expires_in, scope}` with unknown scopes silently dropped,
 *   or 400 `{"error": "invalid_client" | "invalid_request" | "unsupported_grant_type"}`.
 * - Scores endpoint `<lineitem>/scores`: bearer token with the score scope (401/403 otherwise),
 *   content type exactly `application/vnd.ims.lis.v1.score+json` (415), required fields (400), and
 *   Open edX's timestamp rule per (line item, user): equal → 400 "Score already exists for the
 *   provided timestamp", older → 400 "Score timestamp can only be updated to a later point in
 *   time". Timestamps are compared to the microsecond. Accepted scores go into `scores`.
 * Switches per endpoint (`tokenSwitches`, `scoreSwitches`) as in the LTI 1.1 fake.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Knex } from 'knex'
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from 'jose'
import { misbehave, startSwitchableServer, Switches, type SwitchableServer } from './fake-lti11-outcome-service.js'

const SCORE_SCOPE = 'https://purl.imsglobal.org/spec/lti-ags/scope/score'
const KNOWN_SCOPES = new Set([
  SCORE_SCOPE,
  'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
  'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly',
  'https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly',
  'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly'
])
const SCORE_MEDIA_TYPE = 'application/vnd.ims.lis.v1.score+json'

export interface AcceptedScore {
  lineitem: string
  userId: string
  scoreGiven: number | null
  scoreMaximum: number | null
  timestamp: string
  timestampUs: number
  activityProgress: string
  gradingProgress: string
}

export interface TokenRequestRecord {
  /** `issued`, or the error answered. */
  outcome: string
  kid?: string | undefined
  aud?: unknown
  jti?: string | undefined
  scope?: string | undefined
}

export interface ScoreRequestRecord {
  path: string
  status: number
  contentType: string | undefined
  body: string
}

export interface FakeAgsPlatformOptions {
  clientId: string
  /** The tool's JWKS, e.g. `(await app.inject('/lti/1.3/jwks')).json()`. */
  toolJwks: () => Promise<{ keys: JWK[] }>
  /** expires_in of issued tokens; Open edX: 3600. */
  tokenLifetimeSeconds?: number
}

export interface FakeAgsPlatform {
  readonly server: SwitchableServer
  readonly issuer: string
  readonly clientId: string
  readonly tokenUrl: string
  /** An Open edX-shaped line item URL; `query` kept to prove `/scores` goes into the path. */
  lineitemUrl (id: string | number, query?: string): string
  readonly scores: AcceptedScore[]
  readonly tokenRequests: TokenRequestRecord[]
  readonly scoreRequests: ScoreRequestRecord[]
  readonly tokenSwitches: Switches
  readonly scoreSwitches: Switches
  /** Every token issued so far stops working (401 on next use), as a platform revoking early. */
  revokeTokens (): void
  /** Next token responses leave out access_token. */
  omitAccessToken: boolean
  close (): Promise<void>
}

/** ISO 8601 with offset → epoch µs; fractional digits beyond 6 refused (Django keeps µs). */
export function isoToMicros (text: string): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:\d{2})$/.exec(text)
  if (m === null) return undefined
  const ms = Date.parse(`${m[1] as string}${m[3] as string}`)
  if (Number.isNaN(ms)) return undefined
  return ms * 1000 + Number(((m[2] ?? '') + '000000').slice(0, 6))
}

function json (res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

export async function startFakeAgsPlatform (options: FakeAgsPlatformOptions): Promise<FakeAgsPlatform> {
  const scores: AcceptedScore[] = []
  const tokenRequests: TokenRequestRecord[] = []
  const scoreRequests: ScoreRequestRecord[] = []
  const tokenSwitches = new Switches()
  const scoreSwitches = new Switches()
  const tokens = new Map<string, { scopes: string[], expiresAt: number }>()
  const usedJti = new Set<string>()
  const lifetime = options.tokenLifetimeSeconds ?? 3600
  let origin = ''
  const platform = { omitAccessToken: false }

  async function tokenEndpoint (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const record: TokenRequestRecord = { outcome: '' }
    tokenRequests.push(record)
    const fail = (status: number, error: string): void => {
      record.outcome = error
      json(res, status, { error })
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return fail(400, 'invalid_request')
    const form = new URLSearchParams(body.toString('utf8'))
    if (form.get('grant_type') !== 'client_credentials') return fail(400, 'unsupported_grant_type')
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return fail(400, 'invalid_request')
    const assertion = form.get('client_assertion') ?? ''
    const scope = form.get('scope') ?? ''
    record.scope = scope
    try {
      record.kid = decodeProtectedHeader(assertion).kid
      record.aud = decodeJwt(assertion).aud
      const jwks = createLocalJWKSet(await options.toolJwks())
      const { payload } = await jwtVerify(assertion, jwks, {
        algorithms: ['RS256'],
        issuer: options.clientId,
        subject: options.clientId,
        audience: `${origin}/token`
      })
      record.jti = payload.jti
      if (typeof payload.iat !== 'number' || typeof payload.exp !== 'number' || payload.exp - payload.iat > 300) return fail(400, 'invalid_client')
      if (typeof payload.jti !== 'string' || payload.jti.length < 16 || usedJti.has(payload.jti)) return fail(400, 'invalid_client')
      usedJti.add(payload.jti)
    } catch {
      return fail(400, 'invalid_client')
    }
    const granted = scope.split(' ').filter(s => KNOWN_SCOPES.has(s))
    const accessToken = randomBytes(24).toString('base64url')
    tokens.set(accessToken, { scopes: granted, expiresAt: Date.now() + lifetime * 1000 })
    record.outcome = 'issued'
    const answer: Record<string, unknown> = { access_token: accessToken, token_type: 'bearer', expires_in: lifetime, scope: granted.join(' ') }
    if (platform.omitAccessToken) delete answer.access_token
    json(res, 200, answer)
  }

  function scoreEndpoint (req: IncomingMessage, res: ServerResponse, body: Buffer, lineitem: string): void {
    const record: ScoreRequestRecord = { path: req.url ?? '', status: 0, contentType: req.headers['content-type'], body: body.toString('utf8') }
    scoreRequests.push(record)
    const reply = (status: number, payload: unknown): void => {
      record.status = status
      json(res, status, payload)
    }
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')
    const token = auth === null ? undefined : tokens.get(auth[1] as string)
    if (token === undefined || token.expiresAt <= Date.now()) return reply(401, { detail: 'Authentication credentials were not provided.' })
    if (!token.scopes.includes(SCORE_SCOPE)) return reply(403, { detail: 'You do not have permission to perform this action.' })
    if (req.headers['content-type'] !== SCORE_MEDIA_TYPE) return reply(415, { detail: `Unsupported media type "${req.headers['content-type'] ?? ''}" in request.` })
    let score: Record<string, unknown>
    try {
      score = JSON.parse(record.body) as Record<string, unknown>
    } catch {
      return reply(400, { detail: 'JSON parse error' })
    }
    const errors: Record<string, string[]> = {}
    for (const field of ['userId', 'timestamp', 'activityProgress', 'gradingProgress']) {
      if (typeof score[field] !== 'string' || score[field] === '') errors[field] = ['This field is required.']
    }
    if (score.scoreGiven !== undefined && score.scoreGiven !== null && !(typeof score.scoreMaximum === 'number' && score.scoreMaximum > 0)) {
      errors.scoreMaximum = ['scoreMaximum is a required field when providing a scoreGiven value.']
    }
    const timestampUs = typeof score.timestamp === 'string' ? isoToMicros(score.timestamp) : undefined
    if (timestampUs === undefined && errors.timestamp === undefined) errors.timestamp = ['Datetime has wrong format.']
    if (Object.keys(errors).length > 0) return reply(400, errors)
    const existing = scores.findLast(s => s.lineitem === lineitem && s.userId === score.userId)
    if (existing !== undefined && existing.timestampUs > (timestampUs as number)) return reply(400, { timestamp: ['Score timestamp can only be updated to a later point in time'] })
    if (existing !== undefined && existing.timestampUs === timestampUs) return reply(400, { timestamp: ['Score already exists for the provided timestamp'] })
    const accepted: AcceptedScore = {
      lineitem,
      userId: score.userId as string,
      scoreGiven: typeof score.scoreGiven === 'number' ? score.scoreGiven : null,
      scoreMaximum: typeof score.scoreMaximum === 'number' ? score.scoreMaximum : null,
      timestamp: score.timestamp as string,
      timestampUs: timestampUs as number,
      activityProgress: score.activityProgress as string,
      gradingProgress: score.gradingProgress as string
    }
    scores.push(accepted)
    reply(201, score)
  }

  const server = await startSwitchableServer((req, res, body) => {
    const url = new URL(req.url ?? '/', origin)
    void (async () => {
      if (req.method === 'POST' && url.pathname === '/token') {
        const what = tokenSwitches.next()
        if (what !== undefined && await misbehave(what, req, res)) return
        return tokenEndpoint(req, res, body)
      }
      const m = /^\/api\/lti_consumer\/v1\/lti\/1\/lti-ags\/([^/]+)\/scores$/.exec(url.pathname)
      if (req.method === 'POST' && m !== null) {
        const what = scoreSwitches.next()
        if (what !== undefined && await misbehave(what, req, res)) return
        return scoreEndpoint(req, res, body, m[1] as string)
      }
      json(res, 404, { detail: 'Not found.' })
    })().catch(() => {
      if (!res.headersSent) json(res, 500, { detail: 'fake platform error' })
    })
  })
  origin = server.origin

  return {
    server,
    issuer: origin,
    clientId: options.clientId,
    tokenUrl: `${origin}/token`,
    lineitemUrl (id, query) {
      return `${origin}/api/lti_consumer/v1/lti/1/lti-ags/${id}${query === undefined ? '' : '?' + query}`
    },
    scores,
    tokenRequests,
    scoreRequests,
    tokenSwitches,
    scoreSwitches,
    revokeTokens () { tokens.clear() },
    get omitAccessToken () { return platform.omitAccessToken },
    set omitAccessToken (v: boolean) { platform.omitAccessToken = v },
    close: () => server.close()
  }
}

// ---------------------------------------------------------------------------------------------
// The launch records an LTI 1.3 launch from this platform leaves in our database.

export interface SeededAgsTarget {
  registrationId: number
  resourceId: number
  targetKey: string
  sub: string
}

export interface SeedAgsOptions {
  lineitemUrl: string
  sub?: string
  scopes?: string[]
  active?: boolean
  allowedHosts?: string[]
  authTokenAudience?: string | null
  versionNumber?: number
  /** Reuse an existing registration. */
  registrationId?: number
}

/** registration → profile (sub) → graded_resource (line item, granted scopes), as a launch writes them. */
export async function seedAgsTarget (knex: Knex, platform: Pick<FakeAgsPlatform, 'issuer' | 'clientId' | 'tokenUrl'>, o: SeedAgsOptions): Promise<SeededAgsTarget> {
  const at = Date.now()
  let registrationId = o.registrationId
  if (registrationId === undefined) {
    const [id] = await knex('lti13_registrations').insert({
      name: 'fake ' + platform.clientId, issuer: platform.issuer, client_id: platform.clientId,
      auth_login_url: platform.issuer + '/auth', auth_token_url: platform.tokenUrl, auth_token_audience: o.authTokenAudience ?? null,
      jwks_url: platform.issuer + '/jwks', content_scope: '[]', allowed_algorithms: '["RS256"]', allowed_hosts: JSON.stringify(o.allowedHosts ?? []),
      active: o.active === false ? 0 : 1, created_at: at, updated_at: at
    })
    registrationId = Number(id)
  }
  const sub = o.sub ?? 'sub-' + Math.random().toString(36).slice(2, 10)
  const [profileId] = await knex('lti_profiles').insert({ registration_id: registrationId, sub, lms_user_id: 2000 + Math.floor(Math.random() * 1e6), lms_username: 'p-' + sub, created_at: at, updated_at: at })
  const [resourceId] = await knex('graded_resources').insert({
    profile_id: profileId, deployment_id: '1', lms_user_id: 2, course_key: 'course-v1:OrgX+C1+2024', usage_key: 'block-v1:OrgX+C1+2024+type@problem+block@' + sub,
    lineitem_url: o.lineitemUrl, scopes: JSON.stringify(o.scopes ?? [SCORE_SCOPE]), version_number: o.versionNumber ?? 1, created_at: at, updated_at: at
  })
  return { registrationId, resourceId: Number(resourceId), targetKey: `r:${Number(resourceId)}`, sub }
}
