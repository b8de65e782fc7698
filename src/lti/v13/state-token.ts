import { hkdfSync, webcrypto } from 'node:crypto'
import { SignJWT, jwtVerify, errors } from 'jose'
import { lti13Error } from './errors.js'

/**
 * The OIDC `state` parameter: a compact JWS that carries only a random state id (plus, for the
 * cookie-less path, where platform storage lives). The nonce and the browser binding stay in the
 * StateStore; the signature lets us refuse forged or expired states without touching the database.
 *
 * Signed with HS256 under a key derived (HKDF-SHA256) from the service SECRET_KEY, not with the
 * tool's RSA key: the state is minted and read only by us, so a symmetric MAC is the right tool
 * and is cheap to verify; the tool key exists for platforms to verify us, rotates on its own
 * schedule and is stored encrypted, and a state signed with it would also be a token any platform
 * could check. The HKDF `info` separates this key from every other use of SECRET_KEY.
 */

const STATE_AUDIENCE = 'openedx-lti-provider/lti13-oidc-state'
const MAX_STATE_LENGTH = 2048
export const DEFAULT_STATE_TTL_SECONDS = 600

export interface StateTokenClaims {
  stateId: string
  /** `lti_storage_target` of the login (frame name), when the platform offers postMessage storage. */
  storageTarget?: string | undefined
  /** Origin of the platform's OIDC auth endpoint: the postMessage target origin. */
  platformOrigin?: string | undefined
}

export function deriveStateKey (secretKey: string): Uint8Array {
  if (secretKey.length === 0) throw new RangeError('deriveStateKey needs a non-empty secret')
  return new Uint8Array(hkdfSync('sha256', secretKey, 'openedx-lti-provider', 'lti13 oidc state v1', 32))
}

/**
 * jose imports a raw Uint8Array key anew on every call (a WebCrypto importKey costs more than the
 * HMAC itself, and a launch checks the state twice: binding recovery, then the validator). The
 * CryptoKey is imported once per derived key and reused.
 */
const cryptoKeys = new WeakMap<Uint8Array, Promise<webcrypto.CryptoKey>>()
async function cryptoKey (key: Uint8Array): Promise<webcrypto.CryptoKey> {
  let made = cryptoKeys.get(key)
  if (made === undefined) {
    made = webcrypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
    cryptoKeys.set(key, made)
  }
  return await made
}

export async function signStateToken (claims: StateTokenClaims, key: Uint8Array, options: { now: number, ttlSeconds: number }): Promise<string> {
  const iat = Math.floor(options.now / 1000)
  const payload: Record<string, string> = { sid: claims.stateId }
  if (claims.storageTarget !== undefined) payload.st = claims.storageTarget
  if (claims.platformOrigin !== undefined) payload.po = claims.platformOrigin
  return await new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setAudience(STATE_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + options.ttlSeconds)
    .sign(await cryptoKey(key))
}

/**
 * Checks signature, audience and expiry (no leeway: we minted it on our own clock). Does not
 * consume anything: the launch validator consumes the StateStore record after this succeeds, and
 * an adapter may call this first to learn whether to render the platform-storage page.
 */
export async function verifyStateToken (token: unknown, key: Uint8Array, options: { now: number }): Promise<StateTokenClaims> {
  if (typeof token !== 'string' || token.length === 0) throw lti13Error('LTI13_STATE_MISSING')
  if (token.length > MAX_STATE_LENGTH) throw lti13Error('LTI13_STATE_INVALID', { reason: 'too long' })
  let payload: Record<string, unknown>
  try {
    const result = await jwtVerify(token, await cryptoKey(key), {
      algorithms: ['HS256'],
      audience: STATE_AUDIENCE,
      currentDate: new Date(options.now),
      requiredClaims: ['exp', 'iat']
    })
    payload = result.payload
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw lti13Error('LTI13_STATE_EXPIRED', undefined, { cause: err })
    throw lti13Error('LTI13_STATE_INVALID', { reason: err instanceof errors.JOSEError ? err.code : 'unreadable' }, { cause: err })
  }
  const { sid, st, po } = payload
  if (typeof sid !== 'string' || sid.length < 22) throw lti13Error('LTI13_STATE_INVALID', { reason: 'no state id' })
  return {
    stateId: sid,
    storageTarget: typeof st === 'string' ? st : undefined,
    platformOrigin: typeof po === 'string' ? po : undefined
  }
}
