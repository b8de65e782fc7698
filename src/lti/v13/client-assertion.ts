import { SignJWT, type CryptoKey, type KeyObject } from 'jose'
import { randomToken } from './random-token.js'
import type { SignatureAlgorithm } from './registration.js'

/**
 * RFC 7523 client assertion for the client_credentials grant (wire-formats.md §8,
 * lti-checklist.md §2 #14): iss = sub = client_id, aud = the token endpoint (or the platform's
 * stated authorization server), short-lived, with a CSPRNG `jti` the platform can use to refuse
 * replays, and our `kid` so the platform picks the right key from our JWKS during rotation.
 */

export const MAX_ASSERTION_LIFETIME_SECONDS = 300

export interface ClientAssertionInput {
  clientId: string
  /** Token endpoint URL, or the `authorization_server` value the platform asks for. */
  audience: string
  privateKey: CryptoKey | KeyObject
  kid: string
  alg?: SignatureAlgorithm | undefined
  /** Capped at 300 s. */
  lifetimeSeconds?: number | undefined
  now?: number | undefined
}

export async function buildClientAssertion (input: ClientAssertionInput): Promise<string> {
  const iat = Math.floor((input.now ?? Date.now()) / 1000)
  const lifetime = Math.min(Math.max(1, Math.floor(input.lifetimeSeconds ?? MAX_ASSERTION_LIFETIME_SECONDS)), MAX_ASSERTION_LIFETIME_SECONDS)
  return await new SignJWT({})
    .setProtectedHeader({ alg: input.alg ?? 'RS256', typ: 'JWT', kid: input.kid })
    .setIssuer(input.clientId)
    .setSubject(input.clientId)
    .setAudience(input.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + lifetime)
    .setJti(randomToken(32))
    .sign(input.privateKey)
}
