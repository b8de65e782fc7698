/**
 * The tool's own signing keys (LTI 1.3 client assertions, token handoff, Deep Linking).
 *
 * Lifecycle: a key is born `next` and is published in the JWKS at once; rotation promotes `next`
 * to `current` (only after it has been published for KEY_ROTATION_GRACE_SECONDS, so platforms
 * that cache our JWKS already know it), retires the old `current` (still published for an hour,
 * the lifetime of anything it signed) and creates a fresh `next`. `kid` = RFC 7638 thumbprint.
 */
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importPKCS8, type JWK, type CryptoKey } from 'jose'
import type { Knex } from 'knex'
import type { SecretBox } from '../crypto/secret-box.js'
import { registerErrors } from '../errors.js'
import { createToolKeysRepository, type ToolKeyRow } from '../db/repositories/tool-keys-repository.js'
import { isUniqueViolation } from '../db/connection.js'

export const KeyErrors = registerErrors({
  KEY_NEXT_TOO_YOUNG: [409, 'The next key has not been published long enough to be promoted; wait or force the rotation.'],
  KEY_NONE_CURRENT: [503, 'The tool has no current signing key yet.'],
  KEY_ROTATION_CONFLICT: [409, 'Another rotation ran at the same time; try again.']
})

const ALG = 'RS256'
const PRIVATE_KEY_CONTEXT = 'tool_keys.private_key'
/** Retired keys stay in the JWKS this long: client assertions and handoff tokens live minutes. */
export const RETIRED_PUBLISH_MS = 60 * 60 * 1000

export interface PublicToolKey {
  kid: string
  state: 'current' | 'next' | 'retired'
  alg: string
  createdAt: string
  activatedAt: string | null
  retiredAt: string | null
}

export interface SigningKey { kid: string, alg: string, key: CryptoKey }

export interface ToolKeysOptions {
  knex: Knex
  secretBox: SecretBox
  graceSeconds: number
  now?: () => number
}

export function createToolKeys (opts: ToolKeysOptions) {
  const repo = createToolKeysRepository(opts.knex)
  const now = opts.now ?? Date.now
  let signingCache: { id: number, key: SigningKey } | undefined
  let jwksCache: { at: number, body: { keys: JWK[] } } | undefined

  async function newKeyRow (state: 'current' | 'next', at: number): Promise<Omit<ToolKeyRow, 'id'>> {
    const { publicKey, privateKey } = await generateKeyPair(ALG, { modulusLength: 2048, extractable: true })
    const jwk = await exportJWK(publicKey)
    const kid = await calculateJwkThumbprint(jwk, 'sha256')
    const pem = await exportPKCS8(privateKey)
    return {
      kid,
      alg: ALG,
      state,
      slot: state,
      public_jwk: JSON.stringify({ ...jwk, kid, alg: ALG, use: 'sig' }),
      private_key_enc: opts.secretBox.seal(pem, PRIVATE_KEY_CONTEXT),
      created_at: at,
      activated_at: state === 'current' ? at : null,
      retired_at: null
    }
  }

  function invalidate (): void {
    signingCache = undefined
    jwksCache = undefined
  }

  return {
    /** Creates the current and next keys when missing (first boot). Safe under concurrency. */
    async ensure (): Promise<void> {
      for (const slot of ['current', 'next'] as const) {
        if (await repo.findBySlot(slot)) continue
        const row = await newKeyRow(slot, now())
        try {
          await repo.insert(row)
        } catch (err) {
          // Another instance created it first: its key wins, ours is discarded.
          if (!isUniqueViolation(err)) throw err
        }
      }
      invalidate()
    },

    async list (): Promise<PublicToolKey[]> {
      return (await repo.list()).map(toPublic)
    },

    /** Promotes next → current, retires the old current, creates a new next; one transaction. */
    async rotate (options: { force?: boolean } = {}): Promise<PublicToolKey[]> {
      const at = now()
      const fresh = await newKeyRow('next', at)
      try {
        await opts.knex.transaction(async trx => {
          const next = await repo.findBySlot('next', trx)
          const current = await repo.findBySlot('current', trx)
          if (!next) throw KeyErrors('KEY_NONE_CURRENT')
          if (!options.force && at - next.created_at < opts.graceSeconds * 1000) {
            throw KeyErrors('KEY_NEXT_TOO_YOUNG', { publishedSeconds: Math.floor((at - next.created_at) / 1000), graceSeconds: opts.graceSeconds })
          }
          if (current) await repo.retire(current.id, at, trx)
          await repo.promote(next.id, at, trx)
          await repo.insert(fresh, trx)
        })
      } catch (err) {
        if (isUniqueViolation(err)) throw KeyErrors('KEY_ROTATION_CONFLICT', undefined, { cause: err })
        throw err
      } finally {
        invalidate()
      }
      return (await repo.list()).map(toPublic)
    },

    /** The JWKS document: current, next, and keys retired within the last hour. */
    async jwks (): Promise<{ keys: JWK[] }> {
      const t = now()
      // A short cache keeps the JWKS route off the database under load; rotation invalidates it.
      if (jwksCache && t - jwksCache.at < 5000) return jwksCache.body
      const rows = await repo.listPublished(t - RETIRED_PUBLISH_MS)
      const body = { keys: rows.map(r => JSON.parse(r.public_jwk) as JWK) }
      jwksCache = { at: t, body }
      return body
    },

    /** The key that signs now. */
    async signingKey (): Promise<SigningKey> {
      const row = await repo.findBySlot('current')
      if (!row) throw KeyErrors('KEY_NONE_CURRENT')
      if (signingCache?.id === row.id) return signingCache.key
      const pem = opts.secretBox.open(row.private_key_enc, PRIVATE_KEY_CONTEXT)
      const key = { kid: row.kid, alg: row.alg, key: await importPKCS8(pem, row.alg) }
      signingCache = { id: row.id, key }
      return key
    }
  }
}

export type ToolKeys = ReturnType<typeof createToolKeys>

function toPublic (row: ToolKeyRow): PublicToolKey {
  const iso = (v: number | null) => v === null ? null : new Date(v).toISOString()
  return { kid: row.kid, state: row.state, alg: row.alg, createdAt: new Date(row.created_at).toISOString(), activatedAt: iso(row.activated_at), retiredAt: iso(row.retired_at) }
}
