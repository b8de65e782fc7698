/**
 * HTTP load from a child process (autocannon-runner.mjs), so the client does not share the
 * server's event loop. On this 2-core machine client and server still share the cores: every
 * figure is therefore read next to a baseline measured the same way in the same run.
 */
import { fork } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { tempPath } from './temp.js'

const RUNNER = fileURLToPath(new URL('./autocannon-runner.mjs', import.meta.url))

export interface LoadResult {
  requests: number
  /** 2xx answers. */
  ok: number
  seconds: number
  /** 2xx answers per second. */
  rps: number
  p50: number
  p90: number
  p99: number
  max: number
  errors: number
  non2xx: number
}

/** A single-use request: form body, and the cookie header it needs (LTI 1.3 binding). */
export type OneRequest = string | { b: string, c: string }

export interface LoadOptions {
  url: string
  connections: number
  maxSeconds: number
  /** The same body on every request (bounded by `maxSeconds`). */
  body?: string
  /** Each sent once; the run stops when they are used up or after `maxSeconds`. */
  requests?: OneRequest[]
}

export async function runLoad (options: LoadOptions): Promise<LoadResult> {
  let requestsFile: string | undefined
  if (options.requests !== undefined) {
    requestsFile = tempPath('requests', '.json')
    writeFileSync(requestsFile, JSON.stringify(options.requests))
  }
  const input = { url: options.url, connections: options.connections, maxSeconds: options.maxSeconds, body: options.body, requestsFile }
  return await new Promise((resolve, reject) => {
    const child = fork(RUNNER, [JSON.stringify(input)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    let answered = false
    child.on('message', m => { answered = true; resolve(m as LoadResult) })
    child.on('error', reject)
    child.on('exit', code => { if (!answered) reject(new Error(`autocannon runner exited ${code}`)) })
  })
}
