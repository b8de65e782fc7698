/**
 * The service environment that points at a fake LMS (test/support/fake-lms.ts): its URL, the
 * client credentials the fake accepts and the relay consumer it knows. One place, so launch tests
 * do not each spell out the seven variables.
 */
import type { FakeLms } from '../support/fake-lms.js'

export const RELAY_CONSUMER = { key: 'lms-relay-key', secret: 'lms-relay-secret' } as const

export function lmsEnv (lms: FakeLms, publicUrl: string, options: { timeoutMs?: number, relaySecret?: string } = {}): Record<string, string> {
  return {
    PUBLIC_URL: publicUrl,
    LMS_URL: lms.url,
    LMS_CLIENT_ID: 'lti-provider-client',
    LMS_CLIENT_SECRET: 'lti-provider-secret',
    LMS_RELAY_CONSUMER_KEY: RELAY_CONSUMER.key,
    LMS_RELAY_CONSUMER_SECRET: options.relaySecret ?? RELAY_CONSUMER.secret,
    LMS_TIMEOUT_MS: String(options.timeoutMs ?? 3000)
  }
}
