import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Constant-time string equality. Both sides are hashed first so the comparison runs on
 * equal-length buffers and the time taken reveals neither the length nor a matching prefix.
 */
export function safeEqual (a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest()
  const hb = createHash('sha256').update(b, 'utf8').digest()
  return timingSafeEqual(ha, hb)
}

/** SHA-256 of a secret value, base64url: what we store instead of the value itself. */
export function sha256Base64url (value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url')
}
