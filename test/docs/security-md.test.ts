/**
 * SECURITY.md backs each promise with named tests: every path it names must exist, and every test
 * file it names must be one the suite runs (not under an excluded folder), so the table cannot
 * point at tests that were renamed, moved or never written.
 */
import t from 'tap'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

const root = fileURLToPath(new URL('../..', import.meta.url))
const text = readFileSync(join(root, 'SECURITY.md'), 'utf8')
const EXCLUDED = ['test/helpers/', 'test/support/', 'test/fixtures/']

t.test('every test SECURITY.md names exists and runs in the suite', async t => {
  const named = [...text.matchAll(/`((?:test|bench)\/[^`\s]+)`/g)].map(m => m[1] as string)
  t.same([...text.matchAll(/`([\w.-]+\.test\.ts)`/g)].map(m => m[1]), [], 'test files are named by their full path')
  t.ok(named.length >= 30, `${named.length} paths named`)
  for (const path of new Set(named)) {
    if (path.endsWith('/')) {
      t.ok(readdirSync(join(root, path)).some(f => f.endsWith('.test.ts')), `${path} holds test files`)
      continue
    }
    if (path.includes('*')) {
      const [dir, pattern] = [path.slice(0, path.lastIndexOf('/')), path.slice(path.lastIndexOf('/') + 1)]
      const re = new RegExp('^' + pattern.replace(/[.]/g, '\\.').replace(/\*/g, '.*') + '$')
      t.ok(readdirSync(join(root, dir)).some(f => re.test(f)), `${path} matches at least one file`)
      continue
    }
    t.ok(existsSync(join(root, path)), `${path} exists`)
    if (path.startsWith('test/')) {
      t.ok(path.endsWith('.test.ts') && !EXCLUDED.some(dir => path.startsWith(dir)), `${path} is a test file the suite runs`)
    }
  }
})
