import { randomInt } from 'node:crypto'

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** Uniform random characters from `alphabet`, from the CSPRNG (randomInt rejects modulo bias). */
function randomString (length: number, alphabet: string): string {
  let out = ''
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)]
  return out
}

/**
 * A username for an account created without PII, as the LMS's own LTI provider makes them
 * (`lti_provider/users.py`): 30 random characters of [A-Za-z0-9], which is also the LMS's
 * USERNAME_MAX_LENGTH default.
 */
export function generateLmsUsername (): string {
  return randomString(30, ALPHANUMERIC)
}

/** `<username>@<domain>`: the synthetic email of a PII-less account (LTI_USER_EMAIL_DOMAIN). */
export function syntheticEmail (username: string, domain: string): string {
  const d = domain.trim().toLowerCase().replace(/^@/, '')
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(d)) {
    throw new TypeError('synthetic email domain must be a dotted host name')
  }
  return `${username}@${d}`
}

const PASSWORD_ALPHABET = ALPHANUMERIC + '-_.!~*'

const CHARACTER_CLASSES = [/[A-Z]/, /[a-z]/, /[0-9]/, /[-_.!~*]/]

/**
 * A password nobody knows or needs: learners never log in with it (they arrive through a session
 * handoff). 40 CSPRNG characters (~240 bits) with every character class present, so the LMS's
 * length and complexity validators accept it; redrawn in the (practically impossible) case that
 * it equals the username, which the registration API refuses.
 */
export function generateUnusablePassword (username = ''): string {
  for (;;) {
    const password = randomString(40, PASSWORD_ALPHABET)
    if (password !== username && CHARACTER_CLASSES.every(c => c.test(password))) return password
  }
}
