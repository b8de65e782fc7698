import type { RegistrationId } from './registration.js'

/**
 * Server-side half of an OIDC login: saved at login, consumed once at launch. The nonce lives
 * here (never only in the browser) so a captured id_token cannot be replayed, and `bindingHash`
 * ties the launch to the browser that started the login (lti-checklist.md §2 #2, #3).
 */
export interface StateRecord {
  stateId: string
  nonce: string
  registrationId: RegistrationId
  /** SHA-256 (base64url) of the browser binding value; the value itself is never stored. */
  bindingHash: string
  /** target_link_uri of the login request, compared with the id_token claim. */
  targetLinkUri: string
  expiresAt: Date
}

export interface StateStore {
  save (record: StateRecord): Promise<void>
  /**
   * Returns the record and deletes it in one atomic step (`DELETE … RETURNING`, or a
   * transaction with a locking read): two concurrent calls must never both get the record.
   * Null when unknown or already consumed.
   */
  consume (stateId: string): Promise<StateRecord | null>
}
