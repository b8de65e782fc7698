/**
 * The browser binding of an LTI 1.3 login, kept in a cookie where cookies work (lti-checklist.md
 * §2 #2). One cookie per login, named after its state id, so two launches started side by side
 * (two tabs, two iframes on one page) do not overwrite each other's binding.
 *
 * `__Host-` pins it to our host, `Path=/` and `Secure` (the prefix requires both, and no Domain);
 * `HttpOnly` keeps it from scripts; `SameSite=None` lets the platform's cross-site form_post carry
 * it; `Partitioned` (CHIPS) keeps it working in browsers that block unpartitioned third-party
 * cookies, where it lives in the platform site's partition, the same one the launch POST comes from.
 * Where even that fails, platform storage carries the binding instead.
 */

const PREFIX = '__Host-lti13_'
/** Cookie names are RFC 6265 tokens; state ids are base64url, which fits. */
const STATE_ID = /^[A-Za-z0-9_-]{16,64}$/

export function bindingCookieName (stateId: string): string {
  if (!STATE_ID.test(stateId)) throw new RangeError('state id is not a cookie-safe token')
  return PREFIX + stateId
}

const ATTRIBUTES = 'Path=/; Secure; HttpOnly; SameSite=None; Partitioned'

export function bindingSetCookie (stateId: string, binding: string, maxAgeSeconds: number): string {
  return `${bindingCookieName(stateId)}=${binding}; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}; ${ATTRIBUTES}`
}

/** Expires the cookie once the launch used it (same attributes, or the browser keeps the original). */
export function bindingClearCookie (stateId: string): string {
  return `${bindingCookieName(stateId)}=; Max-Age=0; ${ATTRIBUTES}`
}

/**
 * The binding cookie of this state from a Cookie header, or undefined. A name sent twice (the
 * header is attacker-influenced) counts as absent rather than picking one.
 */
export function readBindingCookie (cookieHeader: string | undefined, stateId: string): string | undefined {
  if (cookieHeader === undefined || !STATE_ID.test(stateId)) return undefined
  const name = bindingCookieName(stateId)
  const values: string[] = []
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    if (part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim())
  }
  if (values.length !== 1 || values[0] === '') return undefined
  return values[0]
}
