/** Which long-running parts a server instance starts: one switch each, so no test re-lists plugins. */
import type { Config } from '../config.js'

export interface AppFeatures {
  /** Start the grade outbox worker. Default PASSBACK_WORKER_ENABLED. */
  worker?: boolean
  /** Start the event-bus consumer (it exists only when KAFKA_BROKERS is set). Default true. */
  consumer?: boolean
  /** Serve the admin API. Default: when ADMIN_TOKEN is set; it cannot be served without one. */
  admin?: boolean
}

export function resolveFeatures (config: Config, features: AppFeatures = {}): Required<AppFeatures> {
  return {
    worker: features.worker ?? config.PASSBACK_WORKER_ENABLED,
    consumer: features.consumer ?? true,
    admin: (features.admin ?? true) && config.ADMIN_TOKEN !== undefined && config.ADMIN_TOKEN !== ''
  }
}
