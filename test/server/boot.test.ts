/**
 * The service as an operator runs it: a real process, real socket, nothing but SECRET_KEY set.
 * Runs the TypeScript entry point through tsx (the compiled one is the same code; CI builds it too).
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const entry = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const tsx = import.meta.resolve('tsx')

function run (args: string[], env: Record<string, string>, cwd: string) {
  const child = spawn(process.execPath, ['--import', tsx, entry, ...args], {
    cwd,
    // A clean environment: only what an operator would set.
    env: { PATH: process.env.PATH ?? '', HOME: cwd, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', d => { stdout += d })
  child.stderr.on('data', d => { stderr += d })
  const exited = new Promise<number>(resolve => child.on('exit', code => resolve(code ?? -1)))
  return { child, exited, out: () => stdout, err: () => stderr }
}

t.test('serve boots on SQLite with only SECRET_KEY, answers /health, and stops on SIGTERM', async t => {
  const cwd = mkdtempSync(join(tmpdir(), 'boot-'))
  const p = run(['serve'], { SECRET_KEY: 'a'.repeat(48), PORT: '0' }, cwd)
  t.teardown(() => { p.child.kill('SIGKILL') })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no listen line: ' + p.out() + p.err())), 30_000)
    p.child.stdout.on('data', () => {
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(p.out())
      if (m?.[1]) { clearTimeout(timer); resolve(m[1]) }
    })
  })
  const res = await fetch(url + '/health')
  t.equal(res.status, 200)
  t.same(await res.json(), { status: 'ok' })
  const jwks = await (await fetch(url + '/lti/1.3/jwks')).json() as { keys: unknown[] }
  t.equal(jwks.keys.length, 2, 'first boot created current and next keys')
  t.ok(existsSync(join(cwd, 'data', 'lti-provider.sqlite')), 'default SQLite file under ./data')
  const admin = await fetch(url + '/admin/api/v1/keys')
  t.equal(admin.status, 404, 'admin API off without ADMIN_TOKEN')
  p.child.kill('SIGTERM')
  t.equal(await p.exited, 0, 'graceful exit')
  t.notMatch(p.out(), /aaaaaaaaaaaaaaaa/, 'the secret never reaches the log')
})

t.test('serve refuses to start without SECRET_KEY and names the variable', async t => {
  const cwd = mkdtempSync(join(tmpdir(), 'boot-'))
  const p = run(['serve'], {}, cwd)
  t.equal(await p.exited, 1)
  t.match(p.err(), /SECRET_KEY: required/)
})

t.test('migrate exits non-zero on an unknown database scheme and on an unreachable database', async t => {
  const cwd = mkdtempSync(join(tmpdir(), 'boot-'))
  const bad = run(['migrate'], { SECRET_KEY: 'a'.repeat(48), DATABASE_URL: 'postgres://x/y' }, cwd)
  t.equal(await bad.exited, 1)
  t.match(bad.err(), /DATABASE_URL: unknown scheme/)
  const down = run(['migrate'], { SECRET_KEY: 'a'.repeat(48), DATABASE_URL: 'mysql://u:p@127.0.0.1:1/db' }, cwd)
  t.equal(await down.exited, 1)
  t.match(down.err(), /error/)
  const ok = run(['migrate'], { SECRET_KEY: 'a'.repeat(48) }, cwd)
  t.equal(await ok.exited, 0, ok.err())
  const migrations = readdirSync(fileURLToPath(new URL('../../migrations', import.meta.url))).filter(f => f.endsWith('.ts')).length
  t.match(ok.out(), new RegExp(`applied ${migrations} migration`), `all ${migrations} migrations`)
  const again = run(['migrate'], { SECRET_KEY: 'a'.repeat(48) }, cwd)
  t.equal(await again.exited, 0)
  t.match(again.out(), /up to date/)
})
