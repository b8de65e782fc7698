/**
 * The command as an operator gets it: npm puts a symlink to dist/src/cli/main.js on PATH (npx,
 * `npm link`, global installs), so "is this the main module" must hold through the link. The package
 * is built into a temporary directory (not the worktree's dist/) and packed with `npm pack`.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, cpSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

t.setTimeout(600_000)

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string, bin: Record<string, string>, files: string[] }
const work = mkdtempSync(join(tmpdir(), 'lti-installed-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))

/** The package directory npm would pack: package.json, README, schemas and a fresh build. */
const pkgDir = join(work, 'package')
mkdirSync(pkgDir)
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? work, NODE_ENV: 'test' }

t.before(async () => {
  for (const f of ['package.json', 'package-lock.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json']) cpSync(join(root, f), join(pkgDir, f))
  for (const d of ['src', 'plugins', 'migrations', 'schemas']) cpSync(join(root, d), join(pkgDir, d), { recursive: true })
  mkdirSync(join(pkgDir, 'scripts'))
  cpSync(join(root, 'scripts/prepare.mjs'), join(pkgDir, 'scripts/prepare.mjs'))
  symlinkSync(join(root, 'node_modules'), join(pkgDir, 'node_modules'))
  // What `npm ci` runs in a checkout (the package's prepare script): it must build.
  await run('npm', ['run', 'prepare'], { cwd: pkgDir, env })
})

const binPath = () => join(pkgDir, pkg.bin['lti-provider']!)

t.test('through a real symlink, as npm links the bin: --version prints, migrate migrates', async t => {
  chmodSync(binPath(), 0o755) // npm sets the mode when it installs; the build does not
  const binDir = join(work, 'bin')
  mkdirSync(binDir)
  symlinkSync(binPath(), join(binDir, 'lti-provider'))
  const linked = { ...env, PATH: `${binDir}:${env.PATH}` }

  const version = await run('lti-provider', ['--version'], { env: linked, cwd: work })
  t.equal(version.stdout.trim(), pkg.version)

  const db = join(work, 'linked.sqlite')
  const migrated = await run('lti-provider', ['migrate'], { env: { ...linked, DATABASE_URL: `sqlite:${db}` }, cwd: work })
  t.match(migrated.stdout + migrated.stderr, /migrat/i, 'migrate says what it did instead of printing nothing')
  t.ok(existsSync(db), 'the database was created')

  const bad = await run('lti-provider', ['consumers', 'list'], { env: { ...linked, DATABASE_URL: 'postgres://x' }, cwd: work }).then(() => null, (err: { code: number, stderr: string }) => err)
  t.equal(bad?.code, 1, 'a failing subcommand exits non-zero through the link')
  t.match(bad?.stderr, /DATABASE_URL/)
})

t.test('a production install without dev dependencies skips the build instead of failing', async t => {
  const bare = join(work, 'no-dev')
  mkdirSync(bare)
  cpSync(join(root, 'scripts/prepare.mjs'), join(bare, 'prepare.mjs'))
  const r = await run(process.execPath, [join(bare, 'prepare.mjs')], { cwd: bare, env })
  t.match(r.stderr, /TypeScript is not installed .* dist\/ was not built/)
})

t.test('npm pack, then npx from the tarball runs the command', async t => {
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: builtPackageDir(), env })
  const tarball = readdirSync(work).find(f => f.endsWith('.tgz'))
  t.ok(tarball, 'npm pack wrote a tarball')
  const listing = await run('tar', ['tzf', join(work, tarball!)])
  t.match(listing.stdout, /^package\/dist\/src\/cli\/main\.js$/m, 'the tarball carries the build')
  t.match(listing.stdout, /^package\/schemas\/avro\//m, 'and the bundled Avro schema')
  t.notMatch(listing.stdout, /^package\/(test|node_modules|\.env)/m)

  // Install scripts skipped: this checks the bin wiring, not a native rebuild of better-sqlite3.
  const cwd = join(work, 'elsewhere')
  mkdirSync(cwd)
  const npx = await run('npx', ['--yes', '--prefer-offline', '--package', join(work, tarball!), 'lti-provider', '--version'], {
    cwd,
    env: { ...env, npm_config_ignore_scripts: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
    maxBuffer: 16 * 1024 * 1024
  })
  t.equal(npx.stdout.trim(), pkg.version)
})

function builtPackageDir (): string {
  if (!existsSync(join(pkgDir, 'dist'))) throw new Error('the build did not run')
  return pkgDir
}
