import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const PRODUCT_NAME = 'openedx-lti-provider'

let cachedVersion: string | undefined

/**
 * The service version from our package.json, found by walking up from this module (it sits at
 * src/http/ in development and dist/src/http/ when built), so the User-Agent tells platform
 * operators which release called them without anyone having to pass it around.
 */
export function packageVersion (): string {
  if (cachedVersion !== undefined) return cachedVersion
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string, version?: string }
      if (pkg.name === PRODUCT_NAME && typeof pkg.version === 'string') {
        cachedVersion = pkg.version
        return cachedVersion
      }
    } catch {
      // no package.json at this level: keep walking up
    }
    dir = dirname(dir)
  }
  /* c8 ignore next 2 -- only reachable when the package is copied without its package.json */
  cachedVersion = '0.0.0'
  return cachedVersion
}

/** `openedx-lti-provider/<version>`, sent on every outbound call. */
export function defaultUserAgent (version: string = packageVersion()): string {
  return `${PRODUCT_NAME}/${version}`
}
