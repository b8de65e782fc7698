/** The Open edX LMS client from the LMS_* settings: the one place that reads them. */
import type { Config } from '../config.js'
import type { Resolver } from '../http/resolver.js'
import { LmsClient } from '../lms/lms-client.js'

/** undefined when the LMS is not configured (launches answer LAUNCH_LMS_NOT_CONFIGURED). */
export function lmsClientFromConfig (config: Config, resolver?: Resolver, observe?: (call: string, outcome: string, seconds: number) => void): LmsClient | undefined {
  if (!config.LMS_URL || !config.LMS_CLIENT_ID || !config.LMS_CLIENT_SECRET) return undefined
  return new LmsClient({
    lmsUrl: config.LMS_URL,
    clientId: config.LMS_CLIENT_ID,
    clientSecret: config.LMS_CLIENT_SECRET,
    timeoutMs: config.LMS_TIMEOUT_MS,
    ...(resolver === undefined ? {} : { resolver }),
    ...(observe === undefined ? {} : { observe })
  })
}
