import type { RedisSourceTuning } from './redis-source.js'

/** The REDIS_* timings of the source; the service and the tests use the same. */
export function redisTuningFromConfig (config: { REDIS_BLOCK_MS: number, REDIS_BATCH_SIZE: number, REDIS_CLAIM_IDLE_MS: number }): RedisSourceTuning {
  return { blockMs: config.REDIS_BLOCK_MS, batchSize: config.REDIS_BATCH_SIZE, claimIdleMs: config.REDIS_CLAIM_IDLE_MS }
}
