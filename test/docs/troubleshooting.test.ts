import t from 'tap'
import { readFileSync } from 'node:fs'
import { loadErrorCatalog } from '../../scripts/error-catalog.js'

const doc = readFileSync(new URL('../../docs/troubleshooting.md', import.meta.url), 'utf8')

t.test('every error code in the code has a row in docs/troubleshooting.md, and no row is stale', async t => {
  const entries = await loadErrorCatalog()
  t.ok(entries.length > 100, `found ${entries.length} codes`)
  const codes = new Set(entries.map(e => e.code))
  t.equal(codes.size, entries.length, 'codes are unique across families')
  for (const e of entries) t.ok(doc.includes(`| \`${e.code}\` | ${e.status} |`), `${e.code} (${e.status}) documented; run npm run docs:errors`)
  for (const m of doc.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)) t.ok(codes.has(m[1]!), `${m[1]} still exists in the code`)
})
