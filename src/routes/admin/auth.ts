import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { registerErrors } from '../../errors.js'

export const AdminAuthErrors = registerErrors({
  ADMIN_TOKEN_MISSING: [401, 'Send the admin token as "Authorization: Bearer <token>".'],
  ADMIN_TOKEN_INVALID: [403, 'The admin token is not valid.']
})

/**
 * Bearer check in constant time: both sides are hashed first, so neither the content nor the
 * length of the configured token leaks through timing.
 */
export function createAdminAuth (token: string) {
  const expected = createHash('sha256').update(token, 'utf8').digest()
  return async function adminAuth (request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
    if (!match?.[1]) throw AdminAuthErrors('ADMIN_TOKEN_MISSING')
    const given = createHash('sha256').update(match[1], 'utf8').digest()
    if (!timingSafeEqual(given, expected)) throw AdminAuthErrors('ADMIN_TOKEN_INVALID')
  }
}
