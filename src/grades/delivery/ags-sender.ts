import type { CryptoKey } from 'jose'
import type { OutboundClient, OutboundResponse } from '../../http/outbound-client.js'
import { Scope } from '../../lti/claims.js'
import { accessTokenRequestBody, parseAccessTokenResponse, type AccessToken } from '../../lti/v13/access-token-request.js'
import { buildScore, SCORE_CONTENT_TYPE, scoresUrl } from '../../lti/v13/ags-score.js'
import { buildClientAssertion } from '../../lti/v13/client-assertion.js'
import { lti13Error } from '../../lti/v13/errors.js'
import type { SignatureAlgorithm } from '../../lti/v13/registration.js'
import { tokenCacheKey, type AccessTokenCache } from './access-token-cache.js'
import { failureForStatus } from './platform-answer.js'
import { isoMicroseconds } from './score-values.js'

/** The one scope score delivery asks for. */
export const SCORE_SCOPES: readonly string[] = [Scope.agsScore]

/** JSON answers of token and score endpoints are small; anything bigger is refused while reading. */
const MAX_JSON_BYTES = 64 * 1024

/** Open edX (xblock-lti-consumer `LtiAgsScoreSerializer.validate_timestamp`), HTTP 400 answers. */
const SAME_TIMESTAMP = 'score already exists for the provided timestamp'
const OLDER_TIMESTAMP = 'can only be updated to a later point in time'

export interface AgsRegistration {
  id: number
  clientId: string
  authTokenUrl: string
  /** RFC 7523 `aud` when the platform names an authorization server other than its token URL. */
  authTokenAudience: string | null
  /** Hosts token and line item URLs may be on (issuer host + admin-configured). */
  allowedHosts: readonly string[]
}

export interface AgsScoreDelivery {
  registration: AgsRegistration
  lineitemUrl: string
  /** The learner's LTI `sub`. */
  userId: string
  scoreGiven: number
  scoreMaximum: number
  /** The change's time, epoch µs: the AGS timestamp, identical on every retry. */
  eventTimeUs: number
  signal?: AbortSignal | undefined
}

export type AgsScoreResult =
  /** `duplicate`: the platform already had this very score (an earlier attempt got through). */
  | { result: 'delivered', duplicate: boolean }
  /** The platform holds a newer score for this learner: ours is stale and must not be retried. */
  | { result: 'superseded', reason: string }

export interface AgsSender {
  send (delivery: AgsScoreDelivery): Promise<AgsScoreResult>
}

export interface AgsSenderOptions {
  http: OutboundClient
  tokenCache: AccessTokenCache
  /** The tool key that signs client assertions now (ToolKeys#signingKey). */
  signingKey: () => Promise<{ kid: string, alg: string, key: CryptoKey }>
  now?: () => number
}

/**
 * LTI 1.3 AGS score publish (wire-formats.md §7–§8): a client-credentials token obtained with an
 * RFC 7523 assertion signed by the current tool key and cached per registration and scope set,
 * then a score POST to the line item's `/scores` with the event's timestamp. A 401 on the score
 * POST drops the cached token and tries once more with a fresh one (the platform may have revoked
 * it early); any other refusal is the caller's to classify.
 */
export function createAgsSender (options: AgsSenderOptions): AgsSender {
  const now = options.now ?? Date.now
  const { http, tokenCache } = options

  async function requestToken (registration: AgsRegistration): Promise<AccessToken> {
    const signing = await options.signingKey()
    const assertion = await buildClientAssertion({
      clientId: registration.clientId,
      audience: registration.authTokenAudience !== null && registration.authTokenAudience !== '' ? registration.authTokenAudience : registration.authTokenUrl,
      privateKey: signing.key,
      kid: signing.kid,
      alg: signing.alg as SignatureAlgorithm,
      now: now()
    })
    // Shared by every job waiting on this key, so no one job's signal may cancel it: the client's
    // own total timeout bounds it.
    const res = await http.request({
      url: registration.authTokenUrl,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: accessTokenRequestBody({ clientAssertion: assertion, scopes: SCORE_SCOPES }).toString(),
      allowedHosts: registration.allowedHosts,
      maxBytes: MAX_JSON_BYTES
    })
    if (res.status < 200 || res.status >= 300) throw failureForStatus('token', res, now())
    return parseAccessTokenResponse(parseJson(res), now())
  }

  async function postScore (delivery: AgsScoreDelivery, token: string, body: string): Promise<OutboundResponse> {
    return http.request({
      url: scoresUrl(delivery.lineitemUrl),
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': SCORE_CONTENT_TYPE, accept: 'application/json' },
      body,
      allowedHosts: delivery.registration.allowedHosts,
      maxBytes: MAX_JSON_BYTES,
      signal: delivery.signal
    })
  }

  return {
    async send (delivery) {
      const score = buildScore({
        userId: delivery.userId,
        scoreGiven: delivery.scoreGiven,
        scoreMaximum: delivery.scoreMaximum,
        eventTime: new Date(Math.floor(delivery.eventTimeUs / 1000))
      })
      const body = JSON.stringify({ ...score, timestamp: isoMicroseconds(delivery.eventTimeUs) })
      const key = tokenCacheKey(delivery.registration.id, SCORE_SCOPES)
      for (let attempt = 1; ; attempt++) {
        const token = await tokenCache.get(key, () => requestToken(delivery.registration))
        const res = await postScore(delivery, token, body)
        if (res.status === 401 && attempt === 1) {
          tokenCache.invalidate(key, token)
          continue
        }
        if (res.status >= 200 && res.status < 300) return { result: 'delivered', duplicate: false }
        if (res.status === 400) {
          const text = res.body.toString('utf8').toLowerCase()
          if (text.includes(SAME_TIMESTAMP)) return { result: 'delivered', duplicate: true }
          if (text.includes(OLDER_TIMESTAMP)) return { result: 'superseded', reason: 'the platform holds a score with a later timestamp' }
        }
        throw failureForStatus('score', res, now())
      }
    }
  }
}

function parseJson (res: OutboundResponse): unknown {
  try {
    return JSON.parse(res.body.toString('utf8')) as unknown
  } catch {
    throw lti13Error('LTI13_TOKEN_RESPONSE_INVALID', { reason: 'not JSON', httpStatus: res.status })
  }
}
