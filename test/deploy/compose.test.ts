/**
 * docker-compose.yml cannot be started here (no Docker engine): this checks what can be checked
 * without one, against the configuration contract and the Dockerfile.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { ConfigSchema } from '../../src/config.js'

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8')
const compose = parse(read('docker-compose.yml')) as { services: Record<string, { image?: string, build?: unknown, environment?: Record<string, string>, ports?: string[], command?: string[], depends_on?: Record<string, { condition: string }> }> }
const known = new Set(Object.keys(ConfigSchema.properties))

t.test('services and images', async t => {
  const s = compose.services
  t.match(s.mysql?.image, /^mysql:8\.4/)
  t.match(s.kafka?.image, /^apache\/kafka:/)
  t.match(s['schema-registry']?.image, /^confluentinc\/cp-schema-registry:/)
  t.ok(s['lti-provider']?.build, 'the service is built from the Dockerfile')
  t.same(s.migrate?.command, ['migrate'], 'migrations run once, before the service')
  t.equal(s['lti-provider']?.depends_on?.migrate?.condition, 'service_completed_successfully')
  t.same(s['lti-provider']?.ports, ['3000:3000'])
})

t.test('every variable the service gets is one of the configuration contract', async t => {
  for (const name of ['lti-provider', 'migrate']) {
    for (const key of Object.keys(compose.services[name]?.environment ?? {})) t.ok(known.has(key), `${name}: ${key} is a known variable`)
  }
  for (const line of read('.env.example').split('\n')) {
    const m = /^([A-Z0-9_]+)=/.exec(line)
    if (m && !m[1]!.startsWith('MYSQL_')) t.ok(known.has(m[1]!), `.env.example: ${m[1]} is a known variable`)
  }
})

t.test('Dockerfile: multi-stage, non-root, health check on /health, entry point = the CLI', async t => {
  const df = read('Dockerfile')
  t.equal((df.match(/^FROM /gm) ?? []).length, 2)
  t.match(df, /^USER node$/m)
  t.match(df, /HEALTHCHECK[\s\S]*\/health/)
  t.match(df, /ENTRYPOINT \["node", "dist\/src\/cli\/main\.js"\]/)
  t.match(df, /EXPOSE 3000/)
})
