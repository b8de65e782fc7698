/**
 * `deep_linking_selections`: the server-side half of an open content selection. Read as often as
 * the picker's pages need; taken exactly once (submit or cancel), by a DELETE whose row count
 * decides which of two concurrent submissions wins.
 */
import type { Knex } from 'knex'

export interface DeepLinkingSelectionRecord {
  selectionId: string
  registrationId: number
  deploymentId: string
  /** JSON of what the answer needs (src/launch/lti13/deep-linking/selection.ts). */
  settings: string
  expiresAt: number
}

interface Row {
  selection_id: string
  registration_id: number
  deployment_id: string
  settings: string
  expires_at: number | string
  created_at: number | string
}

const TABLE = 'deep_linking_selections'

function fromRow (row: Row): DeepLinkingSelectionRecord {
  return { selectionId: row.selection_id, registrationId: Number(row.registration_id), deploymentId: row.deployment_id, settings: row.settings, expiresAt: Number(row.expires_at) }
}

export function createDeepLinkingSelectionsRepository (knex: Knex) {
  const q = (trx?: Knex.Transaction) => (trx ?? knex)<Row>(TABLE)
  return {
    async insert (record: DeepLinkingSelectionRecord, createdAt: number, trx?: Knex.Transaction): Promise<void> {
      await q(trx).insert({
        selection_id: record.selectionId,
        registration_id: record.registrationId,
        deployment_id: record.deploymentId,
        settings: record.settings,
        expires_at: record.expiresAt,
        created_at: createdAt
      })
    },
    /** The open selection, unless it expired or was already taken. */
    async find (selectionId: string, now: number): Promise<DeepLinkingSelectionRecord | undefined> {
      const row = await q().where({ selection_id: selectionId }).andWhere('expires_at', '>', now).first()
      return row === undefined ? undefined : fromRow(row)
    },
    /** True for exactly one caller per selection: the one whose DELETE removed the row. */
    async take (selectionId: string, now: number): Promise<boolean> {
      return await q().where({ selection_id: selectionId }).andWhere('expires_at', '>', now).delete() === 1
    },
    async purgeExpired (now: number, limit = 500): Promise<number> {
      const ids = (await q().select('selection_id').where('expires_at', '<=', now).limit(limit)).map(r => r.selection_id)
      if (ids.length === 0) return 0
      return await q().whereIn('selection_id', ids).delete()
    }
  }
}

export type DeepLinkingSelectionsRepository = ReturnType<typeof createDeepLinkingSelectionsRepository>
