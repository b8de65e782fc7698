/**
 * A write that names a parent row which is gone: SQLite's FOREIGN KEY constraint (with
 * `PRAGMA foreign_keys = ON`) and MySQL/MariaDB's ER_NO_REFERENCED_ROW(_2). During a launch it
 * means an admin removed the consumer or registration while the launch was running.
 */
export function isForeignKeyViolation (err: unknown): boolean {
  for (let e = err as { code?: unknown, errno?: unknown, cause?: unknown } | null | undefined, depth = 0; e && depth < 3; e = e.cause as typeof e, depth++) {
    if (e.code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || e.code === 'ER_NO_REFERENCED_ROW_2' || e.code === 'ER_NO_REFERENCED_ROW') return true
    if (e.errno === 1452 || e.errno === 1216) return true
  }
  return false
}
