import { randomBytes } from 'node:crypto'

/**
 * An unguessable token from the OS CSPRNG, base64url so it travels in URLs, forms and cookies
 * unchanged. 32 bytes (256 bits) by default; never less than 16 (128 bits), the floor for state
 * ids, nonces and JWT ids (ltijs' Math.random nonces and jti are the counter-example).
 */
export function randomToken (bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < 16) throw new RangeError('randomToken needs at least 16 bytes')
  return randomBytes(bytes).toString('base64url')
}
