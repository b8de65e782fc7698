import { registerErrors } from '../../errors.js'
import { isoformatToEpochMicros } from '../decode/python-isoformat.js'

export const ReplayError = registerErrors({
  EVENT_REPLAY_BAD_TIME: [400, '--from must be an ISO 8601 date or time (UTC when no offset is given) or "earliest".'],
  EVENT_BUS_NOT_CONFIGURED: [503, 'Neither KAFKA_BROKERS nor REDIS_URL is set: there is no event bus to read.']
})

/**
 * `--from` of `events replay`: `earliest`, `2026-11-20`, `2026-11-20T10:15:30`, with optional
 * fraction and offset. A time without offset is UTC, as Open edX's `offset_time` (the LMS runs in UTC).
 */
export function parseReplayFrom (text: string): Date | 'earliest' {
  const value = text.trim()
  if (value === 'earliest') return 'earliest'
  const withTime = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00` : value
  const micros = isoformatToEpochMicros(withTime)
  if (micros === undefined) throw ReplayError('EVENT_REPLAY_BAD_TIME', { from: value.slice(0, 64) })
  return new Date(Math.floor(micros / 1000))
}

/** `--from` on Redis Streams: also an entry id as XADD gives them (`1796683768268-0`). */
export function parseRedisReplayFrom (text: string): { id: string } | Date | 'earliest' {
  const value = text.trim()
  if (/^\d{1,20}-\d{1,20}$/.test(value)) return { id: value }
  return parseReplayFrom(value)
}
