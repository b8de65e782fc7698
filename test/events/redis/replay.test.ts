/**
 * `lti-provider events replay --from <id|time|earliest>` on the Redis bus: XRANGE through the same
 * pipeline; duplicates write nothing, only missed events create jobs, and no consumer group is
 * created, moved or acked.
 */
import t from 'tap'
import { Command } from 'commander'
import { registerEventsCommand } from '../../../src/cli/events-command.js'
import { contextFor } from '../../../src/cli/context.js'
import { parseRedisReplayFrom } from '../../../src/events/consumer/replay-input.js'
import { testConfig } from '../../helpers/build-app.js'
import { createTestDb } from '../../helpers/db.js'
import { createRig } from '../../support/redis-source-rig.js'
import { redisSkipReason, startRedisServer } from '../../support/redis-server.js'

t.test('--from on Redis: an entry id, a time or earliest', async t => {
  t.same(parseRedisReplayFrom('1796683768268-0'), { id: '1796683768268-0' })
  t.equal(parseRedisReplayFrom('earliest'), 'earliest')
  t.equal((parseRedisReplayFrom('2026-11-20T10:00:00') as Date).toISOString(), '2026-11-20T10:00:00.000Z')
  t.throws(() => parseRedisReplayFrom('1796683768268'), { code: 'EVENT_REPLAY_BAD_TIME' }, 'a bare number is neither')
})

t.test('events replay on Redis: missed events get jobs, the rest are duplicates, groups untouched', { skip: redisSkipReason() }, async t => {
  const redis = await startRedisServer()
  t.teardown(() => redis.destroy())
  const db = await createTestDb(t)
  const rig = await createRig(t, redis, db)
  const ceIds = await rig.write('replay', 6)
  // The live service processed the first four; the last two were lost (dead-lettered, fixed since, …).
  for (const ceId of ceIds.slice(0, 4)) await db.knex('processed_events').insert({ ce_id: ceId, ce_type: 'org.openedx.learning.problem.weighted_score.changed.v1', outcome: 'queued', processed_at: 1 })
  const ids = (await rig.client.call('XRANGE', rig.stream, '-', '+') as Array<[string, unknown]>).map(e => e[0])

  const config = testConfig({ DATABASE_URL: db.url, REDIS_URL: redis.url, EVENT_BUS_TOPIC_PREFIX: rig.stream.replace(/-learning-problem-score-lifecycle$/, '') })
  t.equal(config.eventBusTopic, rig.stream)
  let out = ''
  const run = async (args: string[]) => {
    out = ''
    const program = new Command().exitOverride()
    registerEventsCommand(program, {
      withContext: contextFor({ config, knex: db.knex }),
      write: text => { out += text }
    })
    await program.parseAsync(args, { from: 'user' })
  }

  await run(['events', 'replay', '--from', 'earliest', '--json'])
  t.match(JSON.parse(out), { complete: true, processed: 6, outcomes: { duplicate: 4, queued: 2 }, partitions: [{ partition: 0, from: ids[0], to: ids[5] }] })
  t.same((await rig.jobs()).map(j => j.ce_id), ceIds.slice(4), 'jobs only for what had not been processed')

  await run(['events', 'replay', '--from', ids[3]!])
  t.match(out, /replayed 3 record\(s\): duplicate=3/, 'from an entry id, inclusive')
  await run(['events', 'replay', '--from', '2099-01-01'])
  t.match(out, /replayed 0 record\(s\)/, 'a time after the last entry: nothing')
  t.same(await rig.client.call('XINFO', 'GROUPS', rig.stream), [], 'no consumer group created by the replay')
  t.equal(await rig.client.call('XLEN', rig.stream), 6, 'nothing trimmed')
})
