// `npm ci` / `npm install` in a checkout run this (npm's `prepare`): build, so the command works at
// once. A production install (`npm ci --omit=dev`) has no TypeScript: that install must not fail,
// so it says why nothing was built instead; a real compile error still fails the install.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
let tsc
try {
  tsc = require.resolve('typescript/bin/tsc')
} catch {
  console.warn('prepare: TypeScript is not installed (dev dependencies omitted), so dist/ was not built; run `npm run build` where they are')
  process.exit(0)
}
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
process.exit(result.status ?? 1)
