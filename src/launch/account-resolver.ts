/**
 * Finds or creates the LMS account behind an LTI identity (shared by LTI 1.1 and 1.3), over REST.
 *
 * Rules (lti-checklist.md §1 #11, openedx-rest.md §3): a new account gets a random 30-character
 * username, an unusable random password and, without PII, a synthetic email at our domain. With
 * PII the launch's name and email fill the profile, but an email already taken by another LMS
 * account is NEVER linked: the account is created with a synthetic email instead.
 */
import type { LmsClient } from '../lms/lms-client.js'
import { generateLmsUsername, generateUnusablePassword, syntheticEmail } from '../lms/lms-identity.js'
import { isAppError } from '../errors.js'
import type { LmsAccountRef } from '../lms/lms-types.js'

export interface NewAccountRequest {
  usePii: boolean
  name?: string | undefined
  email?: string | undefined
}

export interface AccountResolverOptions {
  lms: LmsClient
  emailDomain: string
}

const MAX_USERNAME_TRIES = 3

export function createAccountResolver (opts: AccountResolverOptions) {
  // Enrollment is idempotent on the LMS, but one REST call per launch would dominate a returning
  // learner's latency: remember what this process enrolled (bounded; a restart re-checks once).
  const enrolled = new Set<string>()
  const ENROLLED_MAX = 200_000

  return {
    async createAccount (req: NewAccountRequest): Promise<LmsAccountRef> {
      const piiEmail = req.usePii && req.email && /^[^@\s]+@[^@\s]+$/.test(req.email) ? req.email.toLowerCase() : undefined
      let useEmail = piiEmail
      for (let attempt = 0; attempt < MAX_USERNAME_TRIES; attempt++) {
        const username = generateLmsUsername()
        const email = useEmail ?? syntheticEmail(username, opts.emailDomain)
        const name = (req.usePii && req.name?.trim()) ? req.name.trim().slice(0, 255) : username
        try {
          const created = await opts.lms.createUser({ username, email, name, password: generateUnusablePassword(username) })
          return { lmsUserId: created.userId, lmsUsername: created.username, lmsEmail: email }
        } catch (err) {
          if (isAppError(err) && err.code === 'LMS_USER_CONFLICT') {
            const code = String(err.details?.errorCode ?? '')
            // Someone owns that email: never link by email; fall back to a synthetic one.
            if (useEmail !== undefined && code.includes('email')) { useEmail = undefined; continue }
            continue // username taken (30 random characters: practically never): draw again
          }
          throw err
        }
      }
      throw new Error('could not find a free LMS username after several tries')
    },

    async ensureEnrolled (account: LmsAccountRef, courseKey: string): Promise<void> {
      const key = `${account.lmsUserId}|${courseKey}`
      if (enrolled.has(key)) return
      await opts.lms.enroll(account.lmsUsername, courseKey)
      if (enrolled.size >= ENROLLED_MAX) enrolled.clear()
      enrolled.add(key)
    }
  }
}

export type AccountResolver = ReturnType<typeof createAccountResolver>
