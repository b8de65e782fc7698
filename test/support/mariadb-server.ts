/**
 * A throwaway MariaDB server of the test's own (not the shared one of scripts/test-mariadb.sh):
 * `mariadb-install-db` into a mktemp directory, `mariadbd` on a free loopback port, and the means to
 * stop it (SIGTERM, or SIGKILL for a crash) and start it again on the same port and data directory,
 * which is what "the database was unavailable for a while" looks like to the service.
 *
 * test/support is the one place allowed to read the environment for this (CI).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mysql from 'mysql2/promise'

export interface MariadbServer {
  readonly port: number
  /** `mysql://lti:lti@127.0.0.1:<port>/<database>`: a user with every privilege, over TCP like production. */
  readonly url: string
  readonly running: boolean
  /** Stops the server and waits for the process to exit. SIGTERM: clean shutdown; SIGKILL: a crash. */
  stop (signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>
  /** Starts it again on the same port and data directory; resolves once it accepts connections. */
  start (): Promise<void>
  /** Stops it and removes the data directory. Idempotent. */
  destroy (): Promise<void>
  /** The server's own log (for failure messages). */
  log (): string
}

let availability: string | false | undefined

/**
 * `false` when mariadbd can be run, else the reason to show in a tap `skip`. Under CI=true a missing
 * server throws instead: CI must not pass by skipping the database fault tests.
 */
export function mariadbSkipReason (): string | false {
  if (availability !== undefined) return availability
  const missing = ['mariadbd', 'mariadb-install-db'].filter(bin => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0)
  if (missing.length === 0) {
    availability = false
    return availability
  }
  const reason = `${missing.join(' and ')} not found (apt-get install -y mariadb-server)`
  if (process.env.CI === 'true') throw new Error(`MariaDB server unavailable under CI: ${reason}`)
  availability = `MariaDB server unavailable: ${reason}`
  return availability
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

export async function startMariadbServer (options: { database?: string, startTimeoutMs?: number } = {}): Promise<MariadbServer> {
  const skip = mariadbSkipReason()
  if (skip) throw new Error(skip)
  const database = options.database ?? 'lti_fault'
  const startTimeoutMs = options.startTimeoutMs ?? 60_000
  const dir = mkdtempSync(join(tmpdir(), 'lti-mariadb-'))
  const dataDir = join(dir, 'data')
  const socket = join(dir, 'mysqld.sock')
  const logFile = join(dir, 'mysqld.log')
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : []

  const install = spawnSync('mariadb-install-db', ['--no-defaults', ...asRoot, `--datadir=${dataDir}`, '--auth-root-authentication-method=normal', '--skip-test-db'], { encoding: 'utf8', timeout: 120_000 })
  if (install.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`mariadb-install-db failed (${install.status}): ${(install.stderr || install.stdout).slice(-2000)}`)
  }

  const port = await freePort()
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  // A server left behind by a test that crashed would hold the port and the directory.
  const onExit = () => { child?.kill('SIGKILL') }
  process.once('exit', onExit)

  const log = () => { try { return readFileSync(logFile, 'utf8').slice(-3000) } catch { return '' } }

  async function waitReady (): Promise<void> {
    const until = Date.now() + startTimeoutMs
    for (;;) {
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) throw new Error(`mariadbd exited while starting:\n${log()}`)
      try {
        const conn = await mysql.createConnection({ socketPath: socket, user: 'root', password: '' })
        await conn.end()
        return
      } catch (err) {
        if (Date.now() > until) throw new Error(`mariadbd not ready after ${startTimeoutMs} ms (${(err as Error).message}):\n${log()}`)
        await sleep(200)
      }
    }
  }

  async function start (): Promise<void> {
    if (child !== undefined) return
    const out = openSync(logFile, 'a')
    child = spawn('mariadbd', [
      '--no-defaults', ...asRoot, `--datadir=${dataDir}`, `--socket=${socket}`, `--port=${port}`,
      '--bind-address=127.0.0.1', `--pid-file=${join(dir, 'mysqld.pid')}`, '--skip-name-resolve',
      // Small and lax: a throwaway server on a shared machine.
      '--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M', '--innodb-flush-log-at-trx-commit=2',
      '--max-connections=200', '--character-set-server=utf8mb4', '--collation-server=utf8mb4_unicode_ci'
    ], { stdio: ['ignore', out, out] })
    closeSync(out)
    const proc = child
    exited = new Promise<void>(resolve => proc.once('exit', () => { if (child === proc) child = undefined; resolve() }))
    await waitReady()
  }

  async function stop (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const proc = child
    if (proc === undefined) return
    proc.kill(signal)
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000)
    await exited
    clearTimeout(timer)
  }

  await start()
  const admin = await mysql.createConnection({ socketPath: socket, user: 'root', password: '', multipleStatements: true })
  try {
    await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
      CREATE USER 'lti'@'127.0.0.1' IDENTIFIED BY 'lti'; GRANT ALL ON *.* TO 'lti'@'127.0.0.1'; FLUSH PRIVILEGES;`)
  } finally {
    await admin.end()
  }

  let destroyed = false
  return {
    port,
    url: `mysql://lti:lti@127.0.0.1:${port}/${database}`,
    get running () { return child !== undefined },
    stop,
    start,
    async destroy () {
      if (destroyed) return
      destroyed = true
      await stop('SIGKILL')
      process.off('exit', onExit)
      rmSync(dir, { recursive: true, force: true })
    },
    log
  }
}
