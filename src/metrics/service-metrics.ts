/**
 * Service-wide metrics an operator's dashboard starts from: which build runs, launches by result
 * code, LMS call latency and outcome, and the dead letters waiting for a look. Labels are bounded:
 * versions, stable error codes, the LMS call table's names; never a user, course or URL.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { packageVersion } from '../http/user-agent.js'

export type LtiVersion = '1.1' | '1.3'

export interface ServiceMetrics {
  /** `result` is 'ok' or the refusal's stable code. */
  launch: (version: LtiVersion, result: string) => void
  /** `outcome` is 'ok', 'http_<status>' for an answer the caller interprets, or the LMS_* error code. */
  lmsCall: (call: string, outcome: string, seconds: number) => void
}

export function createServiceMetrics (registry: Registry, options: { countDeadLetters?: () => Promise<number> } = {}): ServiceMetrics {
  new Gauge({
    name: 'lti_provider_build_info',
    help: 'Always 1; the labels say which release and Node.js version run',
    labelNames: ['version', 'node'] as const,
    registers: [registry]
  }).set({ version: packageVersion(), node: process.versions.node }, 1)
  const launches = new Counter({
    name: 'lti_provider_launches_total',
    help: 'Completed launches (result="ok") and refusals (result=<stable error code>) by LTI version',
    labelNames: ['version', 'result'] as const,
    registers: [registry]
  })
  // Present from the first scrape, so rate() and the alert rules have a series before the first launch.
  for (const version of ['1.1', '1.3'] as const) launches.inc({ version, result: 'ok' }, 0)
  const lms = new Histogram({
    name: 'lti_provider_lms_request_duration_seconds',
    help: 'Open edX LMS REST calls (retries included) by call and outcome',
    labelNames: ['call', 'outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry]
  })
  const count = options.countDeadLetters
  if (count !== undefined) {
    new Gauge({
      name: 'lti_provider_dead_letters',
      help: 'Event-bus records kept in dead_letters (undecodable or poison), waiting for an operator',
      registers: [registry],
      async collect () { this.set(await count()) }
    })
  }
  return {
    launch: (version, result) => { launches.inc({ version, result }) },
    lmsCall: (call, outcome, seconds) => { lms.observe({ call, outcome }, seconds) }
  }
}
