/** Rows of `tool_keys`. Methods take an optional transaction; the caller owns it. */
import type { Knex } from 'knex'

export type ToolKeyState = 'current' | 'next' | 'retired'

export interface ToolKeyRow {
  id: number
  kid: string
  alg: string
  state: ToolKeyState
  slot: 'current' | 'next' | null
  public_jwk: string
  private_key_enc: string
  created_at: number
  activated_at: number | null
  retired_at: number | null
}

export function createToolKeysRepository (knex: Knex) {
  const q = (trx?: Knex.Transaction) => (trx ?? knex)<ToolKeyRow>('tool_keys')
  return {
    async list (trx?: Knex.Transaction): Promise<ToolKeyRow[]> {
      return (await q(trx).select('*').orderBy('id', 'asc')).map(normalize)
    },
    async listPublished (retiredSince: number, trx?: Knex.Transaction): Promise<ToolKeyRow[]> {
      const rows = await q(trx).select('*')
        .whereIn('state', ['current', 'next'])
        .orWhere(b => b.where('state', 'retired').andWhere('retired_at', '>=', retiredSince))
        .orderBy('id', 'asc')
      return rows.map(normalize)
    },
    async findBySlot (slot: 'current' | 'next', trx?: Knex.Transaction): Promise<ToolKeyRow | undefined> {
      const row = await q(trx).where({ slot }).first()
      return row ? normalize(row) : undefined
    },
    async insert (row: Omit<ToolKeyRow, 'id'>, trx?: Knex.Transaction): Promise<number> {
      const [id] = await q(trx).insert(row)
      return Number(id)
    },
    async retire (id: number, now: number, trx?: Knex.Transaction): Promise<void> {
      await q(trx).where({ id }).update({ state: 'retired', slot: null, retired_at: now })
    },
    async promote (id: number, now: number, trx?: Knex.Transaction): Promise<void> {
      await q(trx).where({ id }).update({ state: 'current', slot: 'current', activated_at: now })
    }
  }
}

export type ToolKeysRepository = ReturnType<typeof createToolKeysRepository>

function normalize (row: ToolKeyRow): ToolKeyRow {
  return {
    ...row,
    id: Number(row.id),
    created_at: Number(row.created_at),
    activated_at: row.activated_at === null ? null : Number(row.activated_at),
    retired_at: row.retired_at === null ? null : Number(row.retired_at)
  }
}
