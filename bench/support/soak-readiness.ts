/**
 * Samples the service's /ready while the soak runs, so the report can say whether readiness went
 * "not ready" while the broker was down (it should: the consumer cannot work then) and how often it
 * did so with everything up.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { FaultWindow } from './soak-faults.js'

export interface ReadinessSample { atMs: number, ready: boolean }

export interface ReadinessSampler {
  samples: ReadinessSample[]
  /** The event consumer's state changes (`12.3 s running`), to read a stall next to the fault windows. */
  consumerStates: string[]
  /** Samples until `signal` aborts; keeps following the consumer's state until `untilDone` aborts. */
  run: (signal: AbortSignal, untilDone: AbortSignal) => Promise<void>
}

export function createReadinessSampler (publicUrl: string, everyMs: number, startedAt: () => number, consumerState: () => string): ReadinessSampler {
  const samples: ReadinessSample[] = []
  const consumerStates: string[] = []
  let last = ''
  return {
    samples,
    consumerStates,
    async run (signal, untilDone) {
      while (!untilDone.aborted) {
        const atMs = Date.now() - startedAt()
        const state = consumerState()
        if (state !== last) consumerStates.push(`${(atMs / 1000).toFixed(1)} s ${last = state}`)
        if (!signal.aborted) {
          const ready = await fetch(`${publicUrl}/ready`, { signal: AbortSignal.timeout(2000) }).then(r => r.status === 200, () => false)
          samples.push({ atMs, ready })
        }
        await sleep(signal.aborted ? 100 : everyMs, undefined, { signal: untilDone }).catch(() => {})
      }
    }
  }
}

/** Not-ready samples inside broker outages (plus `graceMs` after, the time to rejoin) and outside them. */
export function readinessFigures (samples: readonly ReadinessSample[], windows: readonly FaultWindow[], graceMs: number): {
  samples: number, notReady: number, duringBrokerOutages: { samples: number, notReady: number }
} {
  const outages = windows.filter(w => w.kind === 'broker-down')
  const inOutage = (at: number): boolean => outages.some(w => at >= w.startMs && at <= w.endMs + graceMs)
  const during = samples.filter(s => inOutage(s.atMs))
  return {
    samples: samples.length,
    notReady: samples.filter(s => !s.ready).length,
    duringBrokerOutages: { samples: during.length, notReady: during.filter(s => !s.ready).length }
  }
}
