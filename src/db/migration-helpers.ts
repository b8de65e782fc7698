import type { Knex } from 'knex'

/**
 * LTI and Open edX identifiers (consumer keys, user ids, nonces, course and usage keys) are
 * case-sensitive: tables get a binary collation on MySQL/MariaDB. SQLite compares bytes already.
 * (utf8mb4_bin still pads trailing spaces on both servers; that only ever merges, never splits, keys.)
 */
export function caseSensitive (knex: Knex, t: Knex.CreateTableBuilder): void {
  const client = String(knex.client.config.client)
  if (client === 'mysql2' || client === 'mysql') {
    t.charset('utf8mb4')
    t.collate('utf8mb4_bin')
  }
}
