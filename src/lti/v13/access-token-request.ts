import { OAuth } from '../claims.js'
import { lti13Error } from './errors.js'
import { isRecord } from './claim-readers.js'

/**
 * The client_credentials token request body and the response reader (wire-formats.md §8). The
 * HTTP call itself belongs to the hardened client; these are the bytes and the rules.
 */

export function accessTokenRequestBody (input: { clientAssertion: string, scopes: readonly string[] }): URLSearchParams {
  return new URLSearchParams({
    grant_type: OAuth.clientCredentialsGrant,
    client_assertion_type: OAuth.jwtBearerAssertionType,
    client_assertion: input.clientAssertion,
    scope: input.scopes.join(' ')
  })
}

export interface AccessToken {
  accessToken: string
  /** Epoch ms at which the platform says the token expires. */
  expiresAt: number
  /** Granted scopes when the platform says (Open edX silently drops unknown ones). */
  scopes: string[] | undefined
}

/** `token_type` compared case-insensitively (Open edX answers `bearer`). */
export function parseAccessTokenResponse (body: unknown, nowMs: number): AccessToken {
  if (!isRecord(body)) throw lti13Error('LTI13_TOKEN_RESPONSE_INVALID', { reason: 'not an object' })
  const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn, scope } = body
  if (typeof accessToken !== 'string' || accessToken === '') throw lti13Error('LTI13_TOKEN_RESPONSE_INVALID', { reason: 'no access_token' })
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') throw lti13Error('LTI13_TOKEN_RESPONSE_INVALID', { reason: 'token_type is not bearer' })
  const seconds = typeof expiresIn === 'number' ? expiresIn : typeof expiresIn === 'string' ? Number(expiresIn) : NaN
  if (!Number.isFinite(seconds) || seconds <= 0) throw lti13Error('LTI13_TOKEN_RESPONSE_INVALID', { reason: 'no positive expires_in' })
  return {
    accessToken,
    expiresAt: nowMs + seconds * 1000,
    scopes: typeof scope === 'string' ? scope.split(' ').filter(s => s !== '') : undefined
  }
}
