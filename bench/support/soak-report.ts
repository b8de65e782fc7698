/** The soak's result (printed as `SOAK_RESULT {json}`) and its human summary. */
import type { CheckResult } from './soak-check.js'
import type { FaultKind, FaultWindow } from './soak-faults.js'
import type { LaunchStats } from './soak-launcher.js'
import type { PublishStats } from './soak-publisher.js'

export interface SoakResult {
  ok: boolean
  backend: string
  seed: number
  quick: boolean
  seconds: { production: number, drain: number, elapsed: number }
  drained: boolean
  learnersPerProtocol: number
  launches: LaunchStats
  targets: number
  published: PublishStats
  faults: { planned: number, injected: Record<FaultKind, number>, windows: FaultWindow[], errors: string[] }
  platformRequests: { lti11: number, agsScores: number, agsTokens: number }
  readiness: { samples: number, notReady: number, duringBrokerOutages: { samples: number, notReady: number }, consumerStates: string[] }
  check: CheckResult
  loadAverage: { before: number, after: number }
  serviceSettings: Record<string, string>
  consumerTimings: string | Record<string, number>
}

export function formatSummary (r: SoakResult): string {
  const c = r.check
  const faults = Object.entries(r.faults.injected).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'
  const lines = [
    '',
    `Soak ${r.quick ? '(quick) ' : ''}on ${r.backend}, seed ${r.seed}: ${r.ok ? 'PASSED' : 'FAILED'}`,
    `  elapsed            ${r.seconds.elapsed} s (production ${r.seconds.production} s, drain ${r.seconds.drain} s${r.drained ? '' : ', TIMED OUT'}); load ${r.loadAverage.before} → ${r.loadAverage.after}`,
    `  launches           LTI 1.1 ${r.launches.lti11.ok} ok / ${r.launches.lti11.failed} failed, LTI 1.3 ${r.launches.lti13.ok} ok / ${r.launches.lti13.failed} failed; ${r.targets} grade targets (${r.learnersPerProtocol} learners per platform)`,
    `  events published   ${r.published.events} score changes in ${r.published.batches} batches; ${r.published.failedSends} sends refused by the broker and sent again`,
    `  faults injected    ${faults}${r.faults.errors.length > 0 ? `; injector errors: ${r.faults.errors.join('; ')}` : ''}`,
    `  pushes             LTI 1.1 ${c.pushes.lti11} accepted (${r.platformRequests.lti11} requests), AGS ${c.pushes.lti13} accepted (${r.platformRequests.agsScores} requests, ${r.platformRequests.agsTokens} token requests)`,
    `  outbox             ${Object.entries(c.outboxByStatus).map(([s, n]) => `${s} ${n}`).join(', ')}; most attempts for one job ${c.maxAttempts}`,
    `  coalesced          ${c.coalesced} changes replaced by a newer one before they were sent; ${c.regressions} regressions`,
    `  readiness          ${r.readiness.notReady}/${r.readiness.samples} samples not ready; during broker outages (+3 s) ${r.readiness.duringBrokerOutages.notReady}/${r.readiness.duringBrokerOutages.samples}`,
    `  consumer states    ${r.readiness.consumerStates.join(' → ')}`,
    `  fault windows      ${r.faults.windows.map(w => `${w.kind} ${(w.startMs / 1000).toFixed(1)}–${(w.endMs / 1000).toFixed(1)} s`).join(', ')}`,
    `  AGS resends        ${c.agsSameTimestampResends} refused by the platform as "already exists" (same timestamp; not stored twice)`,
    `  ledger             ${c.changes} changes over ${c.targetsWithChanges} targets; not recorded by the service ${c.notIngested}; pushes matching no change ${c.unknownPushes}`,
    `  LOST               ${c.lost}`,
    `  DUPLICATED         ${c.duplicated}`,
    ...c.problems.map(p => `  ! ${p}`),
    ...r.launches.failures.slice(0, 3).map(f => `  (launch failure: ${f})`),
    ''
  ]
  return lines.join('\n') + '\n'
}
