/**
 * The LMS side of the soak: PROBLEM_WEIGHTED_SCORE_CHANGED events in the Open edX wire format
 * (Avro, Confluent framing, the ten CloudEvent headers; src/events/decode encoder, the same bytes
 * test/support/event-bus-fixtures.ts checks against Avro's own encoder), keyed by user id.
 *
 * Every change goes into the LEDGER once, with its ce_id. Scores are chosen so that a push seen
 * by a gradebook names the change it came from:
 * - `weighted_possible` is always POSSIBLE and `weighted_earned` an integer never used before for
 *   that (learner, problem), in random order (so "highest" is not "latest"): the LTI 1.1 ratio
 *   earned/POSSIBLE is unique per target;
 * - `modified` is strictly increasing over the whole run (ms): the AGS timestamp is unique too.
 * A batch that the broker refused is sent again as is (same ce_ids), until it is accepted: what an
 * at-least-once producer does, so the service may well read a ce_id twice.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs'
import { createWeightedScoreEncoder, newEventMetadata } from '../../src/events/decode/index.js'
import { toPythonIsoformat } from '../../src/events/decode/python-isoformat.js'
import type { GradeTarget } from './soak-launcher.js'
import { SOAK_COURSE } from './soak-launcher.js'
import { SOAK_TOPIC, type SoakStack } from './soak-stack.js'

export const POSSIBLE = 1_000_000

export interface LedgerEntry {
  /** GradeTarget.id of the (learner, problem). */
  target: string
  lmsUserId: number
  block: string
  earned: number
  possible: number
  modifiedMs: number
  ceId: string
}

export interface PublishStats {
  batches: number
  events: number
  /** Sends the broker refused (each batch is then sent again, same ce_ids). */
  failedSends: number
  failures: string[]
}

export interface SoakPublisher {
  ledger: LedgerEntry[]
  stats: PublishStats
  /** Publishes `size` changes for random known targets; resolves once the broker accepted them or `deadline` passed (throws). */
  publishBatch: (size: number, deadline: number) => Promise<void>
  close: () => Promise<void>
}

export async function createSoakPublisher (stack: SoakStack, targets: Map<string, GradeTarget>, random: () => number): Promise<SoakPublisher> {
  const producer: Producer = new Kafka({
    clientId: 'soak-lms',
    brokers: stack.kafka.bootstrap,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 200, retries: 3 }
  }).producer()
  await producer.connect()
  const encoder = createWeightedScoreEncoder({ valueSchemaId: 1, keySchemaId: 2 })
  const ledger: LedgerEntry[] = []
  const stats: PublishStats = { batches: 0, events: 0, failedSends: 0, failures: [] }
  const usedScores = new Map<string, Set<number>>()
  let lastModified = 0

  function nextEarned (target: string): number {
    let used = usedScores.get(target)
    if (used === undefined) usedScores.set(target, used = new Set())
    for (;;) {
      const earned = Math.floor(random() * (POSSIBLE + 1))
      if (!used.has(earned)) {
        used.add(earned)
        return earned
      }
    }
  }

  return {
    ledger,
    stats,
    async publishBatch (size, deadline) {
      const known = [...targets.values()]
      if (known.length === 0) return
      const entries: LedgerEntry[] = []
      for (let i = 0; i < size; i++) {
        const target = known[Math.floor(random() * known.length)]!
        lastModified = Math.max(Date.now(), lastModified + 1)
        entries.push({ target: target.id, lmsUserId: target.lmsUserId, block: target.block, earned: nextEarned(target.id), possible: POSSIBLE, modifiedMs: lastModified, ceId: '' })
      }
      const messages = entries.map(e => {
        const metadata = newEventMetadata()
        e.ceId = metadata.ce_id
        const msg = encoder.encode({
          user_id: e.lmsUserId, course_id: SOAK_COURSE, usage_id: e.block, weighted_earned: e.earned, weighted_possible: e.possible,
          modified: toPythonIsoformat(new Date(e.modifiedMs)), score_db_table: 'csm', score_deleted: false, anonymous_user_id: null, only_if_higher: null
        }, metadata)
        return { key: msg.key, value: msg.value, headers: msg.headers }
      })
      // In the ledger before the first send: a send that "failed" may still have been written.
      ledger.push(...entries)
      for (;;) {
        try {
          await producer.send({ topic: SOAK_TOPIC, acks: -1, messages })
          break
        } catch (err) {
          stats.failedSends++
          if (stats.failures.length < 5) stats.failures.push(`${(err as Error).name}: ${(err as Error).message}`.slice(0, 200))
          if (Date.now() > deadline) throw new Error(`publisher: a batch was not accepted by the broker before the deadline (${(err as Error).message})`)
          await new Promise(resolve => setTimeout(resolve, 300))
        }
      }
      stats.batches++
      stats.events += entries.length
    },
    close: () => producer.disconnect()
  }
}
