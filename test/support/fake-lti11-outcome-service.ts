/**
 * An LTI 1.1 Basic Outcomes service shaped like an Open edX platform's (xblock-lti-consumer
 * `lti_consumer/outcomes.py` + `lti_1p1/oauth.py` `verify_oauth_body_signature`): node:http on
 * 127.0.0.1, port 0. It checks the body hash (mandatory) and then the HMAC-SHA1 signature over the
 * service URL WITHOUT its query string and the OAuth header parameters only (wire-formats.md §3
 * note; `verify: 'rfc5849'` checks the RFC base string instead, query parameters included), parses
 * the replaceResult, and answers HTTP 200 with a POX `success` or `failure` as Open edX does.
 * Accepted scores go into `ledger`; every request into `requests`.
 *
 * Switches (`respondWith`) make it misbehave for a number of requests: down, 500, 429 with
 * Retry-After, slow, hang, DOCTYPE, 10 MB, redirect to another host, any status.
 * The verification is written independently of src/ (RFC 5849 helpers of fake-lms-oauth1.ts).
 */
import { createHash } from 'node:crypto'
import type { Knex } from 'knex'
import type { SecretBox } from '../../src/crypto/secret-box.js'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { baseStringUri, hmacSha1Signature, signatureBaseString, signaturesEqual } from './fake-lms-oauth1.js'

export const POX_NS = 'http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0'

// ---------------------------------------------------------------------------------------------
// A loopback server that can go down (connections refused) and come back on the same port.

export interface SwitchableServer {
  readonly port: number
  readonly origin: string
  /** Requests being answered right now, and the most at any one time (concurrency limits). */
  readonly active: number
  readonly peakActive: number
  /** Stops listening and drops open connections: clients get ECONNREFUSED. */
  down (): Promise<void>
  /** Listens again on the same port. */
  up (): Promise<void>
  close (): Promise<void>
}

export type RawHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void

export async function startSwitchableServer (handler: RawHandler): Promise<SwitchableServer> {
  const sockets = new Set<Socket>()
  const load = { active: 0, peak: 0 }
  const server: Server = createServer((req, res) => {
    load.active++
    load.peak = Math.max(load.peak, load.active)
    res.once('close', () => { load.active-- })
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => handler(req, res, Buffer.concat(chunks)))
  })
  server.on('connection', socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  let listening = true
  const stop = async (): Promise<void> => {
    if (!listening) return
    listening = false
    for (const socket of sockets) socket.destroy()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    get active () { return load.active },
    get peakActive () { return load.peak },
    down: stop,
    async up () {
      if (listening) return
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve() })
      })
      listening = true
    },
    close: stop
  }
}

// ---------------------------------------------------------------------------------------------
// Misbehaviour switches shared by both fakes.

export type Misbehaviour =
  | { kind: 'status', status: number, body?: string, headers?: Record<string, string> }
  | { kind: 'rate-limited', retryAfter?: string }
  | { kind: 'slow', delayMs: number }
  | { kind: 'hang' }
  | { kind: 'doctype' }
  | { kind: 'huge', bytes?: number }
  | { kind: 'redirect', location: string }
  | { kind: 'pox-failure', description: string }

/** A queue of misbehaviours, each for `times` requests; empty = behave. */
export class Switches {
  private readonly queue: Array<{ what: Misbehaviour, left: number }> = []
  respondWith (what: Misbehaviour, times = Number.POSITIVE_INFINITY): void {
    this.queue.push({ what, left: times })
  }

  behave (): void {
    this.queue.length = 0
  }

  /** The misbehaviour for this request, if any (consumes one use). */
  next (): Misbehaviour | undefined {
    const head = this.queue[0]
    if (head === undefined) return undefined
    head.left--
    if (head.left <= 0) this.queue.shift()
    return head.what
  }
}

const BILLION_LAUGHS = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>' +
  `<imsx_POXEnvelopeResponse xmlns="${POX_NS}"><imsx_POXHeader><imsx_POXResponseHeaderInfo><imsx_version>V1.0</imsx_version>` +
  '<imsx_messageIdentifier>x</imsx_messageIdentifier><imsx_statusInfo><imsx_codeMajor>success</imsx_codeMajor><imsx_severity>status</imsx_severity>' +
  '<imsx_description>&lol2;</imsx_description></imsx_statusInfo></imsx_POXResponseHeaderInfo></imsx_POXHeader><imsx_POXBody><replaceResultResponse/></imsx_POXBody></imsx_POXEnvelopeResponse>'

/**
 * Answers a misbehaviour. Returns false when the request should be processed normally (after a
 * `slow` delay, only if the client is still waiting: a client that gave up never gets its grade
 * recorded, so timeouts never leave a score behind the test's back).
 */
export async function misbehave (what: Misbehaviour, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  res.on('error', () => undefined)
  switch (what.kind) {
    case 'status':
      res.writeHead(what.status, { 'content-type': 'text/plain', ...what.headers })
      res.end(what.body ?? `status ${what.status}`)
      return true
    case 'rate-limited':
      res.writeHead(429, { 'content-type': 'text/plain', ...(what.retryAfter === undefined ? {} : { 'retry-after': what.retryAfter }) })
      res.end('Too Many Requests')
      return true
    case 'slow':
      await new Promise(resolve => setTimeout(resolve, what.delayMs))
      return req.socket.destroyed || res.destroyed
    case 'hang':
      return true
    case 'doctype':
      res.writeHead(200, { 'content-type': 'application/xml' })
      res.end(BILLION_LAUGHS)
      return true
    case 'huge': {
      const total = what.bytes ?? 10 * 1024 * 1024
      res.writeHead(200, { 'content-type': 'application/xml' }) // chunked: no Content-Length to trust
      const chunk = Buffer.alloc(64 * 1024, 'a')
      let sent = 0
      const pump = (): void => {
        while (sent < total && !res.destroyed) {
          sent += chunk.length
          if (!res.write(chunk)) return void res.once('drain', pump)
        }
        if (!res.destroyed) res.end()
      }
      pump()
      return true
    }
    case 'redirect':
      res.writeHead(307, { location: what.location })
      res.end()
      return true
    case 'pox-failure':
      return false
  }
}

// ---------------------------------------------------------------------------------------------
// The outcome service.

export interface OutcomeRecord {
  consumerKey: string
  sourcedId: string
  /** Last `:` segment of the sourcedId: the anonymous user id Open edX looks up. */
  userId: string
  /** As sent: the decimal string. */
  score: string
  messageIdentifier: string
  path: string
}

export interface OutcomeRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
  /** `accepted`, a failure description, or what the switch did. */
  verdict: string
}

export interface FakeOutcomeServiceOptions {
  /** consumer key → secret. */
  consumers: Record<string, string>
  verify?: 'openedx' | 'rfc5849'
  /** When given, a sourcedId whose user is not listed gets Open edX's `User not found.` failure. */
  knownUsers?: readonly string[]
}

export interface FakeOutcomeService {
  readonly server: SwitchableServer
  readonly origin: string
  /** An Open edX-shaped outcome URL on this service (no query unless given). */
  outcomeUrl (usage?: string, query?: string): string
  readonly ledger: OutcomeRecord[]
  readonly requests: OutcomeRequest[]
  readonly switches: Switches
  close (): Promise<void>
}

function parseAuthorization (header: string | undefined): Array<[string, string]> | undefined {
  if (header === undefined || !/^OAuth\s/i.test(header)) return undefined
  const pairs: Array<[string, string]> = []
  const re = /([A-Za-z0-9_.~%-]+)="([^"]*)"/g
  for (let m = re.exec(header); m !== null; m = re.exec(header)) {
    pairs.push([decodeURIComponent(m[1] as string), decodeURIComponent(m[2] as string)])
  }
  return pairs
}

function textOf (xml: string, local: string): string | undefined {
  const m = new RegExp(`<(?:[A-Za-z0-9_]+:)?${local}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[A-Za-z0-9_]+:)?${local}>`).exec(xml)
  return m === null ? undefined : (m[1] as string).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&')
}

function escapeXml (value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** Open edX's response template (leading newline, `xmlns = "…"`, empty messageRefIdentifier). */
export function openEdxPoxResponse (codeMajor: 'success' | 'failure' | 'unsupported', description: string, messageIdentifier: string, bodyXml: string): string {
  return `
<?xml version="1.0" encoding="UTF-8"?>
<imsx_POXEnvelopeResponse xmlns = "${POX_NS}">
    <imsx_POXHeader>
        <imsx_POXResponseHeaderInfo>
            <imsx_version>V1.0</imsx_version>
            <imsx_messageIdentifier>${escapeXml(messageIdentifier)}</imsx_messageIdentifier>
            <imsx_statusInfo>
                <imsx_codeMajor>${codeMajor}</imsx_codeMajor>
                <imsx_severity>status</imsx_severity>
                <imsx_description>${escapeXml(description)}</imsx_description>
                <imsx_messageRefIdentifier>
                </imsx_messageRefIdentifier>
            </imsx_statusInfo>
        </imsx_POXResponseHeaderInfo>
    </imsx_POXHeader>
    <imsx_POXBody>${bodyXml}</imsx_POXBody>
</imsx_POXEnvelopeResponse>
`
}

export async function startFakeLti11OutcomeService (options: FakeOutcomeServiceOptions): Promise<FakeOutcomeService> {
  const ledger: OutcomeRecord[] = []
  const requests: OutcomeRequest[] = []
  const switches = new Switches()
  const verifyMode = options.verify ?? 'openedx'
  let origin = ''

  function verdictOf (req: IncomingMessage, body: Buffer): { ok: true, consumerKey: string } | { ok: false, description: string } {
    const oauth = parseAuthorization(req.headers.authorization)
    if (oauth === undefined) return { ok: false, description: 'OAuth verification error: no OAuth Authorization header' }
    const get = (name: string) => oauth.find(([k]) => k === name)?.[1]
    const bodyHash = createHash('sha1').update(body).digest('base64')
    const sentHash = get('oauth_body_hash')
    if (sentHash === undefined || !signaturesEqual(sentHash, bodyHash)) return { ok: false, description: 'OAuth body hash verification failed' }
    const consumerKey = get('oauth_consumer_key') ?? ''
    const secret = options.consumers[consumerKey]
    if (secret === undefined) return { ok: false, description: 'OAuth verification error: unknown consumer' }
    const url = new URL(req.url ?? '/', origin)
    const params: Array<[string, string]> = oauth.filter(([k]) => k !== 'oauth_signature' && k !== 'realm')
    if (verifyMode === 'rfc5849') for (const [k, v] of url.searchParams) params.push([k, v])
    // Open edX tries the configured service URL, then the URL the request came to (its Host).
    const origins = [origin, `http://${req.headers.host ?? ''}`]
    const sent = get('oauth_signature') ?? ''
    const valid = origins.some(o => signaturesEqual(hmacSha1Signature(signatureBaseString(req.method ?? 'POST', baseStringUri(o, url.pathname), params), secret), sent))
    if (!valid) return { ok: false, description: 'OAuth signature verification failed' }
    return { ok: true, consumerKey }
  }

  function answer (res: ServerResponse, codeMajor: 'success' | 'failure' | 'unsupported', description: string, bodyXml = ''): void {
    res.writeHead(200, { 'content-type': 'application/xml; charset=utf-8' })
    res.end(openEdxPoxResponse(codeMajor, description, String(Date.now()), bodyXml))
  }

  const server = await startSwitchableServer((req, res, body) => {
    const record: OutcomeRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: body.toString('utf8'), verdict: '' }
    requests.push(record)
    const what = switches.next()
    void (async () => {
      if (what !== undefined && what.kind !== 'pox-failure') {
        const handled = await misbehave(what, req, res)
        record.verdict = what.kind
        if (handled) return
      }
      const auth = verdictOf(req, body)
      if (!auth.ok) {
        record.verdict = auth.description
        return answer(res, 'failure', auth.description)
      }
      const xml = record.body
      if (!xml.includes('<replaceResultRequest>')) {
        record.verdict = 'unsupported'
        return answer(res, 'unsupported', 'Target does not support the requested operation.')
      }
      const sourcedId = textOf(xml, 'sourcedId') ?? ''
      const score = textOf(xml, 'textString') ?? ''
      const messageIdentifier = textOf(xml, 'imsx_messageIdentifier') ?? ''
      const value = Number(score)
      if (score.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
        record.verdict = 'bad score'
        return answer(res, 'failure', 'Request body XML parsing error: score out of range')
      }
      if (what?.kind === 'pox-failure') {
        record.verdict = what.description
        return answer(res, 'failure', what.description)
      }
      const userId = sourcedId.split(':').pop() ?? ''
      if (options.knownUsers !== undefined && !options.knownUsers.includes(userId)) {
        record.verdict = 'User not found.'
        return answer(res, 'failure', 'User not found.')
      }
      ledger.push({ consumerKey: auth.consumerKey, sourcedId, userId, score, messageIdentifier, path: new URL(req.url ?? '/', origin).pathname })
      record.verdict = 'accepted'
      answer(res, 'success', `Score for ${sourcedId} is now ${score}`, '<replaceResultResponse/>')
    })()
  })
  origin = server.origin

  return {
    server,
    origin,
    outcomeUrl (usage = 'block-v1:OrgX+C1+2024+type@lti+block@1', query?: string) {
      return `${origin}/courses/course-v1:OrgX+C1+2024/xblock/${usage}/handler_noauth/outcome_service_handler${query === undefined ? '' : '?' + query}`
    },
    ledger,
    requests,
    switches,
    close: () => server.close()
  }
}

// ---------------------------------------------------------------------------------------------
// The launch records this platform's launches leave in our database, and outbox jobs for them.

export interface SeededLti11Target {
  consumerId: number
  assignmentId: number
  targetKey: string
  sourcedId: string
}

export interface SeedLti11Options {
  consumerKey: string
  secret: string
  outcomeUrl: string
  /** The consumer's outcome host allow-list (JSON column). */
  outcomeHosts?: string[]
  active?: boolean
  /** The anonymous user id at the end of the sourcedId. */
  anonUserId?: string
  usageKey?: string
  versionNumber?: number
  /** Reuse an existing consumer (also reused when one with `consumerKey` exists). */
  consumerId?: number
}

/** consumer (sealed secret) → lti_user → outcome_service → graded_assignment, as a launch writes them. */
export async function seedLti11Target (knex: Knex, secretBox: SecretBox, o: SeedLti11Options): Promise<SeededLti11Target> {
  const at = Date.now()
  const anon = o.anonUserId ?? 'anon-' + Math.random().toString(36).slice(2, 10)
  let consumerId = o.consumerId
  if (consumerId === undefined) {
    const existing = await knex('lti11_consumers').first('id').where({ consumer_key: o.consumerKey }) as { id: number } | undefined
    consumerId = existing === undefined ? undefined : Number(existing.id)
  }
  if (consumerId === undefined) {
    const [id] = await knex('lti11_consumers').insert({
      name: o.consumerKey, consumer_key: o.consumerKey, secret_enc: secretBox.seal(o.secret, 'lti11_consumers.secret'),
      content_scope: '[]', outcome_hosts: JSON.stringify(o.outcomeHosts ?? []), signature_methods: '["HMAC-SHA1"]',
      active: o.active === false ? 0 : 1, created_at: at, updated_at: at
    })
    consumerId = Number(id)
  }
  const [userId] = await knex('lti_users').insert({ consumer_id: consumerId, lti_user_id: anon, lms_user_id: 1000 + Math.floor(Math.random() * 1e6), lms_username: 'learner-' + anon, created_at: at, updated_at: at })
  const [serviceId] = await knex('outcome_services').insert({
    consumer_id: consumerId, url: o.outcomeUrl, url_sha256: createHash('sha256').update(o.outcomeUrl + ':' + anon).digest('hex'), created_at: at
  })
  const usageKey = o.usageKey ?? 'block-v1:OrgX+C1+2024+type@problem+block@' + anon
  const sourcedId = `course-v1%3AOrgX%2BC1%2B2024:${usageKey}:${anon}`
  const [assignmentId] = await knex('graded_assignments').insert({
    lti_user_id: userId, outcome_service_id: serviceId, lms_user_id: 1, course_key: 'course-v1:OrgX+C1+2024', usage_key: usageKey,
    lis_result_sourcedid: sourcedId, version_number: o.versionNumber ?? 1, created_at: at, updated_at: at
  })
  return { consumerId, assignmentId: Number(assignmentId), targetKey: `a:${Number(assignmentId)}`, sourcedId }
}

export interface QueueJobOptions {
  kind?: 'lti11' | 'lti13'
  targetKey: string
  gradedAssignmentId?: number | null
  gradedResourceId?: number | null
  version?: number
  method?: string
  scoreGiven?: number | null
  scoreMaximum?: number | null
  eventTimeUs?: number
  platformHost?: string
  status?: string
  attempts?: number
  dueAt?: number
  leaseUntil?: number | null
  leaseOwner?: string | null
}

/** One `passbacks` row, pending and due by default. */
export async function queuePassback (knex: Knex, o: QueueJobOptions): Promise<number> {
  const at = Date.now()
  const [id] = await knex('passbacks').insert({
    kind: o.kind ?? 'lti11',
    graded_assignment_id: o.gradedAssignmentId ?? null,
    graded_resource_id: o.gradedResourceId ?? null,
    target_key: o.targetKey,
    version: o.version ?? 1,
    method: o.method ?? 'leaf',
    score_given: o.scoreGiven === undefined ? 8.5 : o.scoreGiven,
    score_maximum: o.scoreMaximum === undefined ? 10 : o.scoreMaximum,
    event_time_us: o.eventTimeUs ?? at * 1000,
    ce_id: null,
    platform_host: o.platformHost ?? '127.0.0.1',
    status: o.status ?? 'pending',
    attempts: o.attempts ?? 0,
    last_error: null,
    due_at: o.dueAt ?? at - 1000,
    lease_until: o.leaseUntil ?? null,
    lease_owner: o.leaseOwner ?? null,
    delivered_at: null,
    created_at: at,
    updated_at: at
  })
  return Number(id)
}
