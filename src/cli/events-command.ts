/**
 * `lti-provider events replay --from <time|earliest>`: runs the topic from that time to its current
 * end through the grade pipeline once more (src/events/consumer/replay.ts), in a throwaway group.
 */
import type { Command } from 'commander'
import { kafkaConnectionFromConfig } from '../events/consumer/kafka-client.js'
import { replayEvents, type ReplayResult } from '../events/consumer/replay.js'
import { consumerTuningFromConfig, type ConsumerTuning } from '../events/consumer/event-consumer.js'
import { parseRedisReplayFrom, parseReplayFrom, ReplayError } from '../events/consumer/replay-input.js'
import { redisConnectionFromConfig } from '../events/redis/redis-connection.js'
import { replayRedisStream } from '../events/redis/redis-replay.js'
import { parseId } from '../admin/cli-support.js'
import { formatTable, withContext as defaultWithContext, type WithContext } from './context.js'

export interface EventsCommandDeps {
  withContext?: WithContext
  write?: (text: string) => void
  /** Tests lower kafkajs timings. */
  tuning?: ConsumerTuning
}

function summary (result: ReplayResult): string {
  const counts = Object.entries(result.outcomes).filter(([, n]) => n > 0).map(([o, n]) => `${o}=${n}`).join(' ') || 'nothing'
  return formatTable(result.partitions.map(p => ({ ...p })), ['partition', 'from', 'to']) +
    `replayed ${result.processed} record(s): ${counts}${result.complete ? '' : ' (timed out before the end)'}\n`
}

export function registerEventsCommand (program: Command, deps: EventsCommandDeps = {}): void {
  const withContext = deps.withContext ?? defaultWithContext
  const write = deps.write ?? ((text: string) => { process.stdout.write(text) })
  const events = program.command('events').description('the Open edX event bus')

  events.command('replay')
    .description('process the score events from a time on again (safe: ce_id deduplicates)')
    .requiredOption('--from <time>', 'ISO 8601 time (UTC unless an offset is given), "earliest", or on Redis an entry id (1796683768268-0)')
    .option('--group <id>', 'Kafka: consumer group of the replay (default <KAFKA_GROUP_ID>-replay-<now>); Redis reads with XRANGE, no group')
    .option('--timeout <seconds>', 'stop after this long even if not caught up (default 3600)')
    .option('--json', 'machine-readable output')
    .action(async (o: { from: string, group?: string, timeout?: string, json?: boolean }) => {
      const timeoutMs = o.timeout === undefined ? undefined : parseId(o.timeout, 'timeout') * 1000
      // Warnings and errors go to stderr (src/cli/stderr-log.ts); the summary to stdout.
      await withContext(async ({ config, services }) => {
        if (config.eventBusBackend === 'none') throw ReplayError('EVENT_BUS_NOT_CONFIGURED')
        const redis = config.eventBusBackend === 'redis'
        const from = redis ? parseRedisReplayFrom(o.from) : parseReplayFrom(o.from)
        const pipeline = services.eventPipeline
        await pipeline.relevantUsers.load()
        const result = redis
          ? await replayRedisStream({ connection: redisConnectionFromConfig(config), stream: config.eventBusTopic, from, processor: pipeline.processor, timeoutMs })
          : await replayEvents({
            connection: kafkaConnectionFromConfig(config),
            topic: config.eventBusTopic,
            groupId: o.group ?? `${config.KAFKA_GROUP_ID}-replay-${Date.now()}`,
            from: from as Date | 'earliest',
            processor: pipeline.processor,
            logger: services.log,
            tuning: { ...consumerTuningFromConfig(config), ...deps.tuning },
            timeoutMs
          })
        write(o.json ? JSON.stringify(result, null, 2) + '\n' : summary(result))
      })
    })
}
