import { fileURLToPath } from 'node:url'
import t from 'tap'
import { findCycles, layerViolations, readImportGraph } from '../support/import-graph.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const BAD = fileURLToPath(new URL('../fixtures/import-graph', import.meta.url))

t.test('the checker finds each broken rule in a deliberately bad tree', async t => {
  const graph = readImportGraph(BAD, ['src', 'plugins', 'schemas'])
  t.same(graph.imports.get('src/routes/admin.ts'), ['src/db/outbox/claims.ts'], 'a dynamic import() is an edge')
  t.same(findCycles(graph), [['src/a.ts', 'src/b.ts']], 'the cycle, closed by an import type')
  t.same(layerViolations(graph).map(v => `${v.from} -> ${v.to}`).sort(), [
    'schemas/http/list.ts -> src/db/repositories/rows.ts',
    'src/db/repositories/rows.ts -> schemas/http/body.ts',
    'src/lti/core.ts -> fastify',
    'src/lti/core.ts -> knex',
    'src/lti/core.ts -> src/db/repositories/rows.ts',
    'src/routes/admin.ts -> src/db/outbox/claims.ts'
  ])
})

t.test('src, plugins and schemas: no cycle, no repository behind a schema or a route, a framework-free LTI core', async t => {
  const graph = readImportGraph(ROOT, ['src', 'plugins', 'schemas'])
  // The graph is really read: a known edge in each area the rules look at.
  t.ok(graph.files.length > 150, `${graph.files.length} files`)
  t.ok(graph.imports.get('src/admin/passbacks-service.ts')?.includes('src/db/outbox/admin-queries.ts'))
  t.ok(graph.imports.get('schemas/http/admin-passbacks.ts')?.includes('src/grades/outbox-types.ts'))
  t.ok(graph.packages.get('src/lti/v13/state-token.ts')?.includes('jose'), 'packages of the LTI core are read')
  t.same(findCycles(graph), [], 'no import cycle')
  t.same(layerViolations(graph), [], 'no layering violation')
})
