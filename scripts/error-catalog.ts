/**
 * Every stable error code of the service, from the code itself: the modules that declare codes with
 * registerErrors() are imported and their tables read. Used by `npm run error-table` (regenerates
 * the table in docs/troubleshooting.md) and by the test that keeps that table complete.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { errorFamilies } from '../src/errors.js'

const root = fileURLToPath(new URL('..', import.meta.url))

/** Codes the root error handler answers with, not declared through registerErrors. */
export const HANDLER_CODES: Record<string, readonly [number, string]> = {
  VALIDATION_FAILED: [400, 'The request body, parameters or query do not match the schema (details.fields lists them).'],
  BODY_TOO_LARGE: [413, 'The request body is larger than REQUEST_BODY_LIMIT.'],
  UNSUPPORTED_MEDIA_TYPE: [415, 'The Content-Type is not one this route accepts.'],
  RATE_LIMITED: [429, 'Too many requests; try again shortly.'],
  BAD_REQUEST: [400, 'The request could not be read (malformed body or headers).'],
  NOT_FOUND: [404, 'No such page or resource.'],
  INTERNAL_ERROR: [500, 'An unexpected error; the log line with the same request id has the cause.']
}

function sourceFiles (dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path))
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

export interface CatalogEntry { code: string, status: number, message: string, module: string }

export async function loadErrorCatalog (): Promise<CatalogEntry[]> {
  const entries: CatalogEntry[] = []
  for (const file of sourceFiles(join(root, 'src'))) {
    if (!/registerErrors\(/.test(readFileSync(file, 'utf8')) || file.endsWith(join('src', 'errors.ts'))) continue
    const before = errorFamilies.length
    await import(pathToFileURL(file).href)
    // A module already imported (by another one) registered its family earlier: find it by content.
    const families = errorFamilies.length > before ? errorFamilies.slice(before) : []
    for (const family of families) {
      for (const [code, [status, message]] of Object.entries(family)) entries.push({ code, status, message, module: relative(root, file) })
    }
  }
  // Families registered as a side effect of an earlier import are attributed to no module above.
  const seen = new Set(entries.map(e => e.code))
  for (const family of errorFamilies) {
    for (const [code, [status, message]] of Object.entries(family)) if (!seen.has(code)) { seen.add(code); entries.push({ code, status, message, module: 'src' }) }
  }
  for (const [code, [status, message]] of Object.entries(HANDLER_CODES)) entries.push({ code, status, message, module: 'src/routes/error-handler.ts' })
  return entries.sort((a, b) => a.code.localeCompare(b.code))
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const entries = await loadErrorCatalog()
  for (const e of entries) process.stdout.write(`| \`${e.code}\` | ${e.status} | ${e.message.replace(/\|/g, '\\|')} |\n`)
}
