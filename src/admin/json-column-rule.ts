/**
 * Lists are stored as JSON in TEXT columns, which hold 65,535 bytes on MySQL/MariaDB (strict mode
 * refuses longer values with an error, i.e. a 500). Item counts and lengths are bounded by the
 * schemas, but multi-byte characters can still overflow: check the encoded size up front.
 */
import type { FieldProblem } from './errors.js'

export const TEXT_COLUMN_BYTES = 65_535

export function jsonColumnProblems (lists: Record<string, readonly string[] | undefined>): FieldProblem[] {
  const problems: FieldProblem[] = []
  for (const [field, list] of Object.entries(lists)) {
    if (list !== undefined && Buffer.byteLength(JSON.stringify(list), 'utf8') > TEXT_COLUMN_BYTES) {
      problems.push({ field, message: `is too long in total (at most ${TEXT_COLUMN_BYTES} bytes as JSON)` })
    }
  }
  return problems
}
