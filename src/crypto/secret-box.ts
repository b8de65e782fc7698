/**
 * Secrets at rest (consumer secrets, tool private keys): AES-256-GCM with a key derived from
 * SECRET_KEY by HKDF-SHA256. The additional data names the column a value belongs to, so a
 * ciphertext copied from one column to another does not decrypt.
 *
 * Format: `v1.<base64url(iv 12 B | tag 16 B | ciphertext)>`.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { registerErrors } from '../errors.js'

export const CryptoErrors = registerErrors({
  SECRET_UNREADABLE: [500, 'A stored secret cannot be decrypted: was SECRET_KEY changed?']
})

export interface SecretBox {
  seal (plaintext: string, context: string): string
  open (sealed: string, context: string): string
}

const SALT = Buffer.from('openedx-lti-provider/secret-box')

export function createSecretBox (secretKey: string): SecretBox {
  if (secretKey.length < 32) throw new Error('SECRET_KEY must be at least 32 characters')
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(secretKey, 'utf8'), SALT, 'aes-256-gcm v1', 32))
  return {
    seal (plaintext, context) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      cipher.setAAD(Buffer.from(context, 'utf8'))
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      return 'v1.' + Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64url')
    },
    open (sealed, context) {
      try {
        if (!sealed.startsWith('v1.')) throw new Error('unknown envelope version')
        const raw = Buffer.from(sealed.slice(3), 'base64url')
        if (raw.length < 28) throw new Error('envelope too short')
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
        decipher.setAAD(Buffer.from(context, 'utf8'))
        decipher.setAuthTag(raw.subarray(12, 28))
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
      } catch (err) {
        throw CryptoErrors('SECRET_UNREADABLE', { context }, { cause: err })
      }
    }
  }
}
