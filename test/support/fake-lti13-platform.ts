/**
 * An in-process LTI 1.3 platform shaped like Open edX's (xblock-lti-consumer, wire-formats.md §5–§6):
 * node:http on 127.0.0.1 with a random port, its own RSA key generated at start (never committed),
 * a JWKS endpoint, an OIDC auth endpoint that checks the tool's authentication request and answers
 * with an auto-submitting form_post, and `mintIdToken` for arbitrary or hostile tokens.
 *
 * Also here: the tool-side test doubles the launch tests wire in (in-memory StateStore and
 * DeploymentRegistry, a plain fetch for JWKS) and a parser for auto-submit forms.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import {
  SignJWT, base64url, createLocalJWKSet, jwtVerify, type JSONWebKeySet, calculateJwkThumbprint, exportJWK, exportSPKI, generateKeyPair, importJWK, type CryptoKey, type JWK
} from 'jose'
import { ContextType, DeepLinkingClaim, LTI_VERSION, LtiClaim, MessageType, Role, Scope, ServiceClaim } from '../../src/lti/claims.js'
import { createJwksCache, type FetchJwks, type JwksCache, type JwksCacheOptions } from '../../src/lti/v13/jwks-cache.js'
import { startOidcLogin, type OidcLoginDeps, type OidcLoginResult } from '../../src/lti/v13/oidc-login.js'
import { deriveStateKey } from '../../src/lti/v13/state-token.js'
import { contentTargetLinkUri } from '../../src/lti/v13/tool-urls.js'
import type { LaunchValidatorDeps } from '../../src/lti/v13/launch-validator.js'
import type { DeploymentRegistry, Lti13Registration, RegistrationId } from '../../src/lti/v13/registration.js'
import type { StateRecord, StateStore } from '../../src/lti/v13/state-store.js'

export interface FakePlatformOptions {
  clientId?: string
  deploymentId?: string
  /** The tool's registered redirect URIs; the auth endpoint refuses any other. */
  redirectUris: string[]
  /** Algorithm the platform signs id_tokens with (default RS256). */
  alg?: 'RS256' | 'RS384' | 'RS512'
}

/** What the platform knows about one launch, keyed by the lti_message_hint it hands out. */
export interface FakeLaunch {
  userId: string
  targetLinkUri: string
  roles?: string[]
  resourceLinkId?: string
  custom?: Record<string, string>
  /** name/email are sent only when the block shares PII (Open edX). */
  pii?: { name: string, email: string }
  /** Extra or replacement claims; `undefined` deletes a claim. */
  claims?: Record<string, unknown>
  ltiStorageTarget?: string
}

export type SigningMode =
  | 'platform' // the platform key from the JWKS
  | 'none' // alg none, empty signature
  | 'hs256-public-key' // HS256 keyed with the platform's public key PEM (algorithm confusion)
  | 'foreign-key' // an RSA key the JWKS does not contain, under the JWKS kid

export interface MintOptions {
  /** Base claims come from `launch` (or a default launch); these are merged over them. */
  launch?: FakeLaunch
  nonce?: string
  claims?: Record<string, unknown>
  /** Extra/replacement protected header parameters (kid, jku, jwk, x5u, typ…). */
  header?: Record<string, unknown>
  signing?: SigningMode
  /** RSA algorithm for `platform`/`foreign-key` signing (default: the platform's). */
  alg?: string
  /** Epoch seconds used for iat (exp = iat + 3600 as Open edX does). */
  iat?: number
  /**
   * Header parameters merged in AFTER signing, as an attacker editing a token would (the
   * signature no longer covers them): for headers jose refuses to sign (crit, a lying alg).
   */
  tamperHeader?: Record<string, unknown>
}

/** Deep Linking settings as an Open edX / Moodle-shaped platform sends them (overrides merged in). */
export interface FakeDeepLinkingSettings {
  deep_link_return_url?: unknown
  accept_types?: unknown
  accept_presentation_document_targets?: unknown
  accept_multiple?: unknown
  accept_lineitem?: unknown
  auto_create?: unknown
  data?: unknown
  title?: unknown
  text?: unknown
}

/** What the platform accepted from a Deep Linking response, after checking it as a platform does. */
export interface ReceivedDeepLinkingResponse {
  items: Array<Record<string, unknown>>
  msg: unknown
  claims: Record<string, unknown>
  header: Record<string, unknown>
}

export interface FakeLti13Platform {
  issuer: string
  /** Where this platform wants Deep Linking responses (its `deep_link_return_url`). */
  deepLinkReturnUrl: string
  /** The tool's JWKS URL, for responses posted by a browser to the return URL (set by browser tests). */
  toolJwksUrl: string | undefined
  /** Responses the return URL received and accepted, in order; refusals in `deepLinkingRefusals`. */
  deepLinkingResponses: ReceivedDeepLinkingResponse[]
  deepLinkingRefusals: string[]
  /** Claims of an `LtiDeepLinkingRequest` with these settings over the defaults. */
  deepLinkingClaims (settings?: FakeDeepLinkingSettings): Record<string, unknown>
  /**
   * Checks a response JWT exactly as a platform does (signature by `kid` from the tool's JWKS,
   * iss = client_id, aud = issuer, exp, nonce, message type, version, deployment, data echoed,
   * item types accepted, one item unless accept_multiple) and returns what it carries.
   */
  verifyDeepLinkingResponse (jwt: string, toolJwks: JSONWebKeySet, settings?: FakeDeepLinkingSettings): Promise<ReceivedDeepLinkingResponse>
  clientId: string
  deploymentId: string
  authLoginUrl: string
  jwksUrl: string
  /** Advertised in the registration only: this fake serves no token endpoint. */
  tokenUrl: string
  kid: string
  faults: { jwksDown: boolean, jwksHuge: boolean }
  /**
   * More endpoints on the platform's own origin (e.g. Dynamic Registration, fake-dr-platform.ts):
   * each handler answers and returns true, or returns false to pass the request on.
   */
  routes: Array<(req: IncomingMessage, res: ServerResponse, url: URL) => boolean>
  /** Requests seen by the JWKS endpoint (cache tests). */
  readonly jwksRequests: number
  /** Query parameters of every auth request received, in order. */
  authRequests: Array<Record<string, string>>
  registration (overrides?: Partial<Lti13Registration>): Lti13Registration
  /** Login initiation parameters (Open edX: a GET redirect to the tool's login URL). */
  loginInitiation (launch: FakeLaunch): Record<string, string>
  mintIdToken (options?: MintOptions): Promise<string>
  /** Publishes a new key and signs with it from now on; returns its kid. */
  rotateKey (): Promise<string>
  close (): Promise<void>
}

interface SigningKey {
  kid: string
  privateKey: CryptoKey
  publicKey: CryptoKey
  publicJwk: JWK
}

async function newSigningKey (alg: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(jwk)
  return { kid, privateKey, publicKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } }
}

function escapeHtml (value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

function autoSubmitForm (action: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}" />`)
    .join('\n')
  return `<!DOCTYPE html><html><body onload="document.forms[0].submit()">
<form action="${escapeHtml(action)}" method="post">
${inputs}
</form></body></html>`
}

function send (res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
  res.end(body)
}

export async function startFakeLti13Platform (options: FakePlatformOptions): Promise<FakeLti13Platform> {
  const alg = options.alg ?? 'RS256'
  const clientId = options.clientId ?? 'fake-client-' + randomUUID().slice(0, 8)
  const deploymentId = options.deploymentId ?? '1'
  const configId = randomUUID()
  const keys: SigningKey[] = [await newSigningKey(alg)]
  const current = (): SigningKey => keys[keys.length - 1] as SigningKey
  const launches = new Map<string, FakeLaunch>()
  const faults = { jwksDown: false, jwksHuge: false }
  const authRequests: Array<Record<string, string>> = []
  let jwksRequests = 0
  let issuer = ''
  const routes: FakeLti13Platform['routes'] = []

  const baseClaims = (launch: FakeLaunch, nonce: string | undefined, iat: number): Record<string, unknown> => {
    const claims: Record<string, unknown> = {
      iss: issuer,
      aud: clientId,
      azp: clientId,
      sub: launch.userId,
      iat,
      exp: iat + 3600,
      [LtiClaim.messageType]: MessageType.resourceLinkRequest,
      [LtiClaim.version]: LTI_VERSION,
      [LtiClaim.deploymentId]: deploymentId,
      [LtiClaim.targetLinkUri]: launch.targetLinkUri,
      [LtiClaim.roles]: launch.roles ?? [Role.institutionStudent, Role.membershipLearner],
      [LtiClaim.resourceLink]: { id: launch.resourceLinkId ?? 'block-v1:Platform+P1+2024+type@lti_consumer+block@abc', title: 'Problem set 1', description: '' },
      [LtiClaim.context]: { id: 'course-v1:Platform+P1+2024', type: [ContextType.courseOffering], label: 'P1', title: 'Platform course' },
      [LtiClaim.launchPresentation]: { document_target: 'iframe', return_url: `${issuer}/courses/course-v1:Platform+P1+2024/` },
      [LtiClaim.toolPlatform]: { guid: randomUUID(), name: 'Fake Open edX' },
      [LtiClaim.custom]: launch.custom ?? {},
      [ServiceClaim.agsEndpoint]: {
        scope: [Scope.agsLineItemReadonly, Scope.agsResultReadonly, Scope.agsScore],
        lineitems: `${issuer}/api/lti_consumer/v1/lti/${configId}/lti-ags`,
        lineitem: `${issuer}/api/lti_consumer/v1/lti/${configId}/lti-ags/7`
      },
      [ServiceClaim.nrpsNamesRoleService]: {
        context_memberships_url: `${issuer}/api/lti_consumer/v1/lti/${configId}/memberships`,
        service_versions: ['2.0']
      }
    }
    if (nonce !== undefined) claims.nonce = nonce
    if (launch.pii !== undefined) {
      claims.name = launch.pii.name
      claims.email = launch.pii.email
    }
    for (const [name, value] of Object.entries(launch.claims ?? {})) {
      if (value === undefined) delete claims[name]
      else claims[name] = value
    }
    return claims
  }

  const mintIdToken = async (mint: MintOptions = {}): Promise<string> => {
    const launch = mint.launch ?? { userId: 'learner-1', targetLinkUri: 'http://tool.invalid/' }
    const iat = mint.iat ?? Math.floor(Date.now() / 1000)
    const claims = baseClaims(launch, mint.nonce, iat)
    for (const [name, value] of Object.entries(mint.claims ?? {})) {
      if (value === undefined) delete claims[name]
      else claims[name] = value
    }
    const signing = mint.signing ?? 'platform'
    const key = current()
    if (signing === 'none') {
      const header = { alg: 'none', typ: 'JWT', ...mint.header }
      return `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}.`
    }
    if (signing === 'hs256-public-key') {
      const pem = await exportSPKI(key.publicKey)
      return await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: key.kid, ...mint.header })
        .sign(new TextEncoder().encode(pem))
    }
    const signingAlg = mint.alg ?? alg
    const privateKey = signing === 'foreign-key'
      ? (await generateKeyPair(signingAlg, { extractable: true })).privateKey
      : signingAlg === alg
        ? key.privateKey
        : await importJWK(await exportJWK(key.privateKey), signingAlg) // same RSA key, other hash
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: signingAlg, typ: 'JWT', kid: key.kid, ...mint.header })
      .sign(privateKey)
    if (mint.tamperHeader === undefined) return token
    const [head, payload, signature] = token.split('.') as [string, string, string]
    const header = { ...JSON.parse(new TextDecoder().decode(base64url.decode(head))), ...mint.tamperHeader }
    return `${base64url.encode(JSON.stringify(header))}.${payload}.${signature}`
  }

  const handleAuth = async (url: URL, res: ServerResponse): Promise<void> => {
    const q = Object.fromEntries(url.searchParams)
    authRequests.push(q)
    // Open edX `_validate_preflight_response` plus the OIDC fixed values.
    const expected: Record<string, string> = { scope: 'openid', response_type: 'id_token', response_mode: 'form_post', prompt: 'none', client_id: clientId }
    for (const [name, value] of Object.entries(expected)) {
      if (q[name] !== value) return send(res, 400, 'text/plain', `bad ${name}`)
    }
    if (q.redirect_uri === undefined || !options.redirectUris.includes(q.redirect_uri)) return send(res, 400, 'text/plain', 'unregistered redirect_uri')
    if (!q.nonce || !q.state) return send(res, 400, 'text/plain', 'nonce and state are required')
    const launch = q.lti_message_hint === undefined ? undefined : launches.get(q.lti_message_hint)
    if (launch === undefined) return send(res, 400, 'text/plain', 'unknown lti_message_hint')
    if (q.login_hint !== launch.userId) return send(res, 400, 'text/plain', 'login_hint does not match')
    const idToken = await mintIdToken({ launch, nonce: q.nonce })
    const fields: Record<string, string> = { id_token: idToken, state: q.state }
    if (launch.ltiStorageTarget !== undefined) fields.lti_storage_target = launch.ltiStorageTarget
    send(res, 200, 'text/html; charset=utf-8', autoSubmitForm(q.redirect_uri, fields))
  }

  const handleJwks = (res: ServerResponse): void => {
    jwksRequests += 1
    if (faults.jwksDown) return send(res, 503, 'text/plain', 'down')
    if (faults.jwksHuge) {
      const filler = Array.from({ length: 500 }, (_, i) => ({ ...current().publicJwk, kid: `filler-${i}` }))
      return send(res, 200, 'application/json', JSON.stringify({ keys: [...filler, ...keys.map(k => k.publicJwk)] }))
    }
    send(res, 200, 'application/json', JSON.stringify({ keys: keys.map(k => k.publicJwk) }))
  }

  const deepLinkingResponses: ReceivedDeepLinkingResponse[] = []
  const deepLinkingRefusals: string[] = []
  const dlDefaults = (): FakeDeepLinkingSettings => ({
    deep_link_return_url: `${issuer}/api/lti_consumer/v1/lti/${configId}/lti-dl/response`,
    accept_types: ['ltiResourceLink', 'link', 'html', 'image'],
    accept_presentation_document_targets: ['iframe', 'window'],
    accept_multiple: true,
    accept_lineitem: true,
    auto_create: true,
    data: 'opaque-platform-data+/=&"<x>'
  })
  const settingsOf = (over: FakeDeepLinkingSettings = {}): Record<string, unknown> => {
    const merged: Record<string, unknown> = { ...dlDefaults() }
    for (const [k, v] of Object.entries(over)) {
      if (v === undefined) delete merged[k]
      else merged[k] = v
    }
    return merged
  }
  let lastDeepLinkingSettings: FakeDeepLinkingSettings = {}
  const seenResponseNonces = new Set<string>()
  const verifyDeepLinkingResponse = async (jwt: string, toolJwks: JSONWebKeySet, over: FakeDeepLinkingSettings = lastDeepLinkingSettings): Promise<ReceivedDeepLinkingResponse> => {
    const settings = settingsOf(over)
    const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(toolJwks), { issuer: clientId, audience: issuer, algorithms: ['RS256', 'RS512'], maxTokenAge: '5m' })
    if (typeof protectedHeader.kid !== 'string') throw new Error('response without kid')
    const claims = payload as Record<string, unknown>
    if (typeof claims.nonce !== 'string' || claims.nonce === '') throw new Error('response without nonce')
    if (seenResponseNonces.has(claims.nonce)) throw new Error('response nonce replayed')
    seenResponseNonces.add(claims.nonce)
    if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number' || claims.exp - claims.iat > 3600) throw new Error('bad exp/iat')
    if (claims[LtiClaim.messageType] !== MessageType.deepLinkingResponse) throw new Error('bad message type')
    if (claims[LtiClaim.version] !== LTI_VERSION) throw new Error('bad version')
    if (claims[LtiClaim.deploymentId] !== deploymentId) throw new Error('bad deployment id')
    if (settings.data !== undefined && claims[DeepLinkingClaim.data] !== settings.data) throw new Error('data not echoed')
    if (settings.data === undefined && DeepLinkingClaim.data in claims) throw new Error('data invented')
    const items = claims[DeepLinkingClaim.contentItems]
    if (!Array.isArray(items)) throw new Error('content_items is not an array')
    const accepted = settings.accept_types as string[]
    for (const item of items as Array<Record<string, unknown>>) {
      if (!accepted.includes(String(item.type))) throw new Error(`item type ${String(item.type)} not accepted`)
    }
    if (settings.accept_multiple !== true && items.length > 1) throw new Error('several items where one was accepted')
    const received = { items: items as Array<Record<string, unknown>>, msg: claims[DeepLinkingClaim.msg], claims, header: protectedHeader as Record<string, unknown> }
    deepLinkingResponses.push(received)
    return received
  }

  const handleDeepLinkingReturn = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
    try {
      if (platform.toolJwksUrl === undefined) throw new Error('tool JWKS URL unknown')
      const jwks = await (await fetch(platform.toolJwksUrl, { signal: AbortSignal.timeout(5000) })).json() as JSONWebKeySet
      const received = await verifyDeepLinkingResponse(form.get('JWT') ?? '', jwks)
      send(res, 200, 'text/html; charset=utf-8', `<!doctype html><html><body><h1>Content added</h1><p id="count">${received.items.length} item(s) added</p><ul>${received.items.map(i => `<li>${escapeHtml(String(i.title))}</li>`).join('')}</ul></body></html>`)
    } catch (err) {
      deepLinkingRefusals.push(String(err))
      send(res, 400, 'text/plain', `refused: ${String(err)}`)
    }
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer)
    if (req.method === 'POST' && url.pathname === `/api/lti_consumer/v1/lti/${configId}/lti-dl/response`) {
      handleDeepLinkingReturn(req, res).catch(err => send(res, 500, 'text/plain', String(err)))
    } else if (req.method === 'GET' && url.pathname === '/course-page') {
      // A platform course page framing the tool (browser tests): the iframe opens the login initiation.
      const src = url.searchParams.get('tool') ?? ''
      send(res, 200, 'text/html; charset=utf-8', `<!doctype html><html><body><h1>Platform course</h1><iframe name="tool" title="Open edX content" src="${escapeHtml(src)}" style="width:900px;height:700px"></iframe></body></html>`)
    } else if (req.method === 'GET' && url.pathname === '/api/lti_consumer/v1/launch/') {
      handleAuth(url, res).catch(err => send(res, 500, 'text/plain', String(err)))
    } else if (req.method === 'GET' && url.pathname === `/api/lti_consumer/v1/public_keysets/${configId}`) {
      handleJwks(res)
    } else if (!routes.some(route => route(req, res, url))) {
      send(res, 404, 'text/plain', 'not found')
    }
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const authLoginUrl = `${issuer}/api/lti_consumer/v1/launch/`
  const jwksUrl = `${issuer}/api/lti_consumer/v1/public_keysets/${configId}`
  const tokenUrl = `${issuer}/api/lti_consumer/v1/token/${configId}`

  const platform: FakeLti13Platform = {
    issuer,
    deepLinkReturnUrl: `${issuer}/api/lti_consumer/v1/lti/${configId}/lti-dl/response`,
    toolJwksUrl: undefined,
    deepLinkingResponses,
    deepLinkingRefusals,
    deepLinkingClaims (over = {}) {
      lastDeepLinkingSettings = over
      return { [LtiClaim.messageType]: MessageType.deepLinkingRequest, [DeepLinkingClaim.settings]: settingsOf(over) }
    },
    verifyDeepLinkingResponse,
    clientId,
    deploymentId,
    authLoginUrl,
    jwksUrl,
    tokenUrl,
    get kid () { return current().kid },
    faults,
    routes,
    get jwksRequests () { return jwksRequests },
    authRequests,
    registration (overrides = {}) {
      return {
        id: 1,
        issuer,
        clientId,
        authLoginUrl,
        jwksUrl,
        authTokenUrl: tokenUrl,
        active: true,
        deploymentPolicy: 'strict',
        ...overrides
      }
    },
    loginInitiation (launch) {
      const hint = randomUUID()
      launches.set(hint, launch)
      const params: Record<string, string> = {
        iss: issuer,
        client_id: clientId,
        lti_deployment_id: deploymentId,
        target_link_uri: launch.targetLinkUri,
        login_hint: launch.userId,
        lti_message_hint: hint
      }
      if (launch.ltiStorageTarget !== undefined) params.lti_storage_target = launch.ltiStorageTarget
      return params
    },
    mintIdToken,
    async rotateKey () {
      keys.push(await newSigningKey(alg))
      return current().kid
    },
    async close () {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
  return platform
}

/** Action and fields of an auto-submit form (ours or the platform's). */
export function parseAutoSubmitForm (html: string): { action: string, method: string, fields: Record<string, string> } {
  const decode = (v: string): string => v
    .replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
  const form = /<form\b[^>]*\baction="([^"]*)"[^>]*\bmethod="([^"]*)"/i.exec(html)
  if (form === null) throw new Error('no form in page')
  const fields: Record<string, string> = {}
  for (const m of html.matchAll(/<input\b[^>]*\bname="([^"]*)"[^>]*\bvalue="([^"]*)"/gi)) {
    fields[decode(m[1] as string)] = decode(m[2] as string)
  }
  return { action: decode(form[1] as string), method: (form[2] as string).toUpperCase(), fields }
}

/** JWKS fetch for tests: plain fetch with a timeout (production uses the hardened src/http client). */
export const fetchJwksText: FetchJwks = async (url) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
  if (!res.ok) throw new Error(`JWKS answered HTTP ${res.status}`)
  return await res.text()
}

/** StateStore in memory: Map get+delete in one synchronous step is atomic in one process. */
export function createMemoryStateStore (): StateStore & { records: Map<string, StateRecord> } {
  const records = new Map<string, StateRecord>()
  return {
    records,
    async save (record) {
      if (records.has(record.stateId)) throw new Error('duplicate state id')
      records.set(record.stateId, { ...record })
    },
    async consume (stateId) {
      const record = records.get(stateId) ?? null
      records.delete(stateId)
      return record
    }
  }
}

export function createMemoryDeployments (known: Array<[RegistrationId, string]> = []): DeploymentRegistry & { entries: Set<string> } {
  const entries = new Set(known.map(([r, d]) => `${String(r)}\u0000${d}`))
  return {
    entries,
    async isKnown (registrationId, deploymentId) {
      return entries.has(`${String(registrationId)}\u0000${deploymentId}`)
    },
    async record (registrationId, deploymentId) {
      entries.add(`${String(registrationId)}\u0000${deploymentId}`)
    }
  }
}

export interface ToolHarness {
  publicUrl: string
  stateKey: Uint8Array
  stateStore: ReturnType<typeof createMemoryStateStore>
  deployments: ReturnType<typeof createMemoryDeployments>
  jwks: JwksCache
  registrations: Lti13Registration[]
  /** Added to Date.now() by every clock of the tool side. */
  clock: { offsetMs: number }
  loginDeps: OidcLoginDeps
  launchDeps: LaunchValidatorDeps
  contentUrl (courseKey: string, usageKey: string): string
  /** Login initiation → tool login → the platform's auth endpoint → its form_post fields. */
  loginAndAuthorize (launch: FakeLaunch): Promise<{ login: OidcLoginResult, idToken: string, state: string, form: Record<string, string> }>
}

/** The tool side of a launch, wired to `platform` with in-memory stores (what the routes will wire to the DB). */
export function createToolHarness (platform: FakeLti13Platform, options: {
  publicUrl?: string
  registration?: Partial<Lti13Registration>
  jwks?: Partial<JwksCacheOptions>
} = {}): ToolHarness {
  const publicUrl = options.publicUrl ?? 'https://tool.example.test'
  const clock = { offsetMs: 0 }
  const now = (): number => Date.now() + clock.offsetMs
  const registrations = [platform.registration(options.registration)]
  const stateKey = deriveStateKey('test-secret-key-for-lti13-state')
  const stateStore = createMemoryStateStore()
  const deployments = createMemoryDeployments(registrations.map(r => [r.id, platform.deploymentId]))
  const jwks = createJwksCache({ fetchJwks: fetchJwksText, now, ...options.jwks })
  const findRegistrations = async (issuer: string): Promise<Lti13Registration[]> => registrations.filter(r => r.issuer === issuer)
  const loginDeps: OidcLoginDeps = { findRegistrations, deployments, stateStore, stateKey, publicUrl, now }
  const launchDeps: LaunchValidatorDeps = { findRegistrations, deployments, stateStore, stateKey, publicUrl, jwks, now }
  return {
    publicUrl,
    stateKey,
    stateStore,
    deployments,
    jwks,
    registrations,
    clock,
    loginDeps,
    launchDeps,
    contentUrl: (courseKey, usageKey) => contentTargetLinkUri(publicUrl, courseKey, usageKey),
    async loginAndAuthorize (launch) {
      const login = await startOidcLogin(platform.loginInitiation(launch), loginDeps)
      const res = await fetch(login.redirectUrl, { redirect: 'manual', signal: AbortSignal.timeout(5000) })
      const body = await res.text()
      if (res.status !== 200) throw new Error(`auth endpoint refused: ${res.status} ${body}`)
      const form = parseAutoSubmitForm(body)
      return { login, idToken: form.fields.id_token as string, state: form.fields.state as string, form: form.fields }
    }
  }
}
