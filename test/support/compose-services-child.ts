/**
 * Child process of test/compose/services.test.ts: builds the services over a SQLite file, starts
 * everything that can run (worker, relevance refresh, Kafka consumer), uses both HTTP clients, then
 * closes (unless CLOSE=no) and returns without process.exit: the parent checks that it ends by itself.
 */
import { createKnex } from '../../src/db/connection.js'
import { migrateLatest } from '../../src/db/migrate.js'
import { buildServices } from '../../src/compose/services.js'
import { stderrLog } from '../../src/cli/stderr-log.js'
import { testConfig } from '../helpers/build-app.js'

const config = testConfig(JSON.parse(process.env.CHILD_ENV!) as Record<string, string>)
const knex = createKnex({ url: config.DATABASE_URL })
await migrateLatest(knex)
const services = buildServices({ config, knex, log: stderrLog() })

// Touch every service, as the server does while it registers.
void [services.secretBox, services.metrics, services.launch, services.lti13, services.compositeScorer, services.admin, services.eventPipeline]
await services.toolKeys.ensure()
services.passbackWorker.start()
await services.relevantUsers.load()
services.relevantUsers.start()
const consumer = services.eventConsumer!
await consumer.start()
const deadline = Date.now() + 30_000
while (consumer.status().state !== 'running' && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
await services.lmsClient!.getServiceToken()
await services.outbound.request({ url: `${config.LMS_URL!}/heartbeat`, method: 'GET' }).catch(() => undefined)
process.stdout.write(`STARTED ${consumer.status().state} ${services.built().join(',')}\n`)

if (process.env.CLOSE !== 'no') {
  await services.close()
  await knex.destroy()
  process.stdout.write('CLOSED\n')
}
