import { createHash } from 'node:crypto'

/**
 * OAuth Request Body Hash (the draft LTI 1.1 Basic Outcomes relies on): base64 SHA-1 of the exact
 * body bytes. Without it the POX XML, and so the score, would not be covered by the signature
 * (lti-checklist.md §1 #10). A string is hashed as its UTF-8 bytes, which is what we send.
 */
export function oauthBodyHash (body: string | Uint8Array): string {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  return createHash('sha1').update(bytes).digest('base64')
}
