/**
 * The command-line side of the admin services: turning option strings into the same inputs the
 * HTTP routes pass, reading secrets without echoing them, and printing records for people.
 * Numbers are parsed strictly here; everything else is checked by the services, as for the API.
 */
import { readFile } from 'node:fs/promises'
import { invalidFields } from './errors.js'

const ID = /^[1-9][0-9]{0,14}$/
const INTEGER = /^-?[0-9]{1,15}$/

export function parseId (text: string, field: string): number {
  if (!ID.test(text)) throw invalidFields([{ field, message: 'must be a positive integer id' }])
  return Number(text)
}

export function parseInteger (text: string, field: string): number {
  if (!INTEGER.test(text)) throw invalidFields([{ field, message: 'must be an integer' }])
  return Number(text)
}

/** commander collector for repeatable options (`--content-scope a --content-scope b`). */
export function collect (value: string, previous: string[] | boolean | undefined): string[] {
  return [...(Array.isArray(previous) ? previous : []), value]
}

/** A repeatable list option: undefined (not given), the values, or [] for its `--no-…` form. */
export function listOption (value: string[] | boolean | undefined): string[] | undefined {
  if (value === undefined || value === true) return undefined
  return value === false ? [] : value
}

/** A nullable option: undefined (not given), the value, or null for its `--no-…` form. */
export function nullableOption (value: string | boolean | undefined): string | null | undefined {
  if (value === undefined || value === true) return undefined
  return value === false ? null : value
}

/** Sets `key` only when the value was given, so updates stay partial. */
export function defined<T extends Record<string, unknown>> (fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>
}

const MAX_SECRET_BYTES = 4096

async function readStdin (stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    size += buf.length
    if (size > MAX_SECRET_BYTES) throw invalidFields([{ field: 'secret', message: 'is too long' }])
    chunks.push(buf)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * The consumer secret from `--secret`, or from `--secret-file <path>` (`-` = standard input). No
 * prompt and no environment variable, so scripts stay explicit; one trailing newline is dropped
 * (files and `echo` add one). Returns undefined when neither option was given.
 */
export async function readSecret (opts: { secret?: string | undefined, secretFile?: string | undefined }, stdin: NodeJS.ReadableStream = process.stdin): Promise<string | undefined> {
  if (opts.secret !== undefined && opts.secretFile !== undefined) {
    throw invalidFields([{ field: 'secret', message: 'give --secret or --secret-file, not both' }])
  }
  if (opts.secretFile === undefined) return opts.secret
  let text: string
  if (opts.secretFile === '-') {
    text = await readStdin(stdin)
  } else {
    try {
      text = await readFile(opts.secretFile, 'utf8')
    } catch (err) {
      throw invalidFields([{ field: 'secretFile', message: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` }])
    }
  }
  return text.replace(/\r?\n$/, '')
}

/** `name: value` lines, nested objects and lists as JSON. */
export function formatRecord (record: Record<string, unknown>): string {
  const width = Math.max(...Object.keys(record).map(k => k.length))
  return Object.entries(record)
    .map(([k, v]) => `${(k + ':').padEnd(width + 1)} ${v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join('\n') + '\n'
}
