/**
 * Invite tokens: 256 random bits, base64url, shown once; the database keeps only their SHA-256,
 * looked up by equality (an index lookup on a hash leaks nothing about the token).
 */
import { createHash, randomBytes } from 'node:crypto'

export function newInviteToken (): string {
  return randomBytes(32).toString('base64url')
}

export function inviteTokenHash (token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/** The shape newInviteToken makes; anything else is not looked up at all. */
export function isInviteTokenShape (value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value)
}
