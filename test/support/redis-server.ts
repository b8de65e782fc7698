/**
 * A throwaway redis-server of the test's own (Debian `redis-server`): a free loopback port, a mktemp
 * directory, and the means to stop it (SIGTERM, or SIGKILL for a crash) and start it again on the
 * same port and directory. With `persistent`, every write is in the append-only file before Redis
 * answers (appendfsync always), so a restart keeps the stream and its consumer groups, as a
 * production Redis with AOF does.
 *
 * test/support is the one place allowed to read the environment for this (CI).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface RedisServer {
  readonly port: number
  /** `redis://127.0.0.1:<port>/<db>` */
  readonly url: string
  readonly running: boolean
  stop (signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>
  start (): Promise<void>
  /** Stops it and removes the directory. Idempotent. */
  destroy (): Promise<void>
  log (): string
}

let availability: string | false | undefined

/**
 * `false` when redis-server can be run, else the reason to show in a tap `skip`. Under CI=true a
 * missing server throws instead: CI must not pass by skipping the Redis tests.
 */
export function redisSkipReason (): string | false {
  if (availability !== undefined) return availability
  if (spawnSync('sh', ['-c', 'command -v redis-server']).status === 0) {
    availability = false
    return availability
  }
  const reason = 'redis-server not found (apt-get install -y redis-server)'
  if (process.env.CI === 'true') throw new Error(`Redis server unavailable under CI: ${reason}`)
  availability = `Redis server unavailable: ${reason}`
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

/** PING over a raw socket: true once the server answers +PONG. */
function pings (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect(port, '127.0.0.1')
    const done = (ok: boolean) => { socket.destroy(); resolve(ok) }
    socket.setTimeout(1000, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', data => done(data.toString().startsWith('+PONG')))
  })
}

export async function startRedisServer (options: { persistent?: boolean, db?: number, startTimeoutMs?: number } = {}): Promise<RedisServer> {
  const skip = redisSkipReason()
  if (skip) throw new Error(skip)
  const dir = mkdtempSync(join(tmpdir(), 'lti-redis-'))
  const port = await freePort()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--protected-mode', 'yes', '--daemonize', 'no',
    ...(options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'])]
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let output = ''

  async function start (): Promise<void> {
    if (child) return
    const started = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    started.stdout?.setEncoding('utf8').on('data', (chunk: string) => { output = (output + chunk).slice(-20_000) })
    started.stderr?.setEncoding('utf8').on('data', (chunk: string) => { output = (output + chunk).slice(-20_000) })
    child = started
    exited = new Promise(resolve => started.once('exit', () => { if (child === started) child = undefined; resolve() }))
    const deadline = Date.now() + (options.startTimeoutMs ?? 20_000)
    while (!(await pings(port))) {
      if (!child) throw new Error(`redis-server exited at start: ${output.slice(-2000)}`)
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${port}: ${output.slice(-2000)}`)
      await sleep(50)
    }
  }

  async function stop (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    if (!child) return
    child.kill(signal)
    await exited
  }

  await start()
  // A server left behind by a test that crashed would hold the port and the directory.
  const onExit = () => { child?.kill('SIGKILL') }
  process.once('exit', onExit)
  return {
    port,
    url: `redis://127.0.0.1:${port}/${options.db ?? 0}`,
    get running () { return child !== undefined },
    stop,
    start,
    async destroy () {
      process.removeListener('exit', onExit)
      await stop('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
    log: () => output
  }
}
