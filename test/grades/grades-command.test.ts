import t from 'tap'
import { Command } from 'commander'
import { registerGradesCommand } from '../../src/cli/grades-command.js'
import { contextFor } from '../../src/cli/context.js'
import { LmsClient } from '../../src/lms/lms-client.js'
import { testConfig } from '../helpers/build-app.js'
import { createTestDb } from '../helpers/db.js'
import { DEMO_COURSE_ID, startFakeLms, usageKey } from '../support/fake-lms.js'
import { createSeeder } from '../support/grade-targets-seed.js'

t.setTimeout(120_000)

t.test('grades resync --course: table or JSON, non-zero when a launch failed, LMS required', async t => {
  const db = await createTestDb(t)
  const lms = await startFakeLms()
  t.teardown(() => lms.close())
  const learner = lms.state.addUser({ username: 'learner1', email: 'l1@example.com' })
  lms.state.enroll(learner.username, DEMO_COURSE_ID)
  lms.state.setProblemScore(learner.username, usageKey(DEMO_COURSE_ID, 'problem', 'p1'), 1, 1)
  const seed = createSeeder(db.knex)
  const user = await seed.lti11User({ lmsUserId: learner.id, lmsUsername: learner.username })
  const seq = await seed.assignment(user, { lmsUserId: learner.id, courseKey: DEMO_COURSE_ID, usageKey: usageKey(DEMO_COURSE_ID, 'sequential', 'homework1') })

  const config = testConfig({ DATABASE_URL: db.url, LMS_URL: lms.url, LMS_CLIENT_ID: 'lti-provider-client', LMS_CLIENT_SECRET: 'lti-provider-secret', LMS_RELAY_CONSUMER_KEY: 'k', LMS_RELAY_CONSUMER_SECRET: 's' })
  let out = ''
  const closed: string[] = []
  const run = async (args: string[], platform?: () => undefined) => {
    out = ''
    const program = new Command().exitOverride()
    registerGradesCommand(program, {
      // The services' LMS client, built by the factory and closed with the services after the command.
      withContext: contextFor({
        config,
        knex: db.knex,
        overrides: {
          lmsClient: platform ?? (c => {
            const client = new LmsClient({ lmsUrl: c.LMS_URL!, clientId: c.LMS_CLIENT_ID!, clientSecret: c.LMS_CLIENT_SECRET!, retries: 0 })
            const close = client.close.bind(client)
            client.close = async () => { closed.push('lms'); await close() }
            return client
          })
        }
      }),
      write: text => { out += text }
    })
    await program.parseAsync(args, { from: 'user' })
  }

  await run(['grades', 'resync', '--course', DEMO_COURSE_ID])
  t.match(out, new RegExp(`a:${seq}\\s+.*homework1\\s+1\\s+1/7\\s+subsection`), 'one line per launch: target, block, version, score, method')
  t.match(out, /1 of 1 launch\(es\) queued/)
  t.same(closed, ['lms'], 'the LMS client is closed')

  await run(['grades', 'resync', '--course', DEMO_COURSE_ID, '--json'])
  t.match(JSON.parse(out), { courseKey: DEMO_COURSE_ID, targets: 1, enqueued: [{ targetKey: `a:${seq}`, version: 2, scoreGiven: 1, scoreMaximum: 7 }], failed: [] })

  lms.state.failNext('subsection-grade', 1, 503)
  await t.rejects(run(['grades', 'resync', '--course', DEMO_COURSE_ID]), { code: 'GRADES_RESYNC_INCOMPLETE' })
  t.match(out, /GRADES_LMS_UNAVAILABLE/, 'the failing launch is listed before the error')

  await t.rejects(run(['grades', 'resync', '--course', DEMO_COURSE_ID], () => undefined), { code: 'GRADES_LMS_NOT_CONFIGURED' })
  await t.rejects(run(['grades', 'resync', '--course', 'Org/Course/Run']), { code: 'GRADES_BAD_COURSE_KEY' })
  await t.rejects(run(['grades', 'resync']), /required option '--course <id>'/)
})
