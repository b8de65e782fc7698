/**
 * The soak's fault injector: on a schedule, it breaks one part of the loop for a few seconds and
 * puts it back.
 *
 * | kind | what | the service sees |
 * |---|---|---|
 * | broker-down | mock cluster `down -1` … `up -1` | consumer and producer connections refused; group rejoin after |
 * | kafka-errors | `err <api> <code> <n>`: Fetch NOT_LEADER, OffsetCommit NOT_COORDINATOR, Heartbeat REBALANCE_IN_PROGRESS, Produce NOT_LEADER | metadata refresh, a commit retried, a rebalance |
 * | leader-moves | `leader <topic> <p> -1` (leaderless) … `leader <topic> <p> 1` | fetches and produces for that partition fail until it has a leader |
 * | outcome-service-restart | LTI 1.1 outcome service closed (connections dropped), reopened on the same port | replaceResult refused / reset: retried with backoff |
 * | ags-restart | AGS token + scores endpoints closed, reopened on the same port | score POST refused / reset: retried |
 * | lms-errors | the fake LMS answers 503 to the next registrations and token requests | first launches of new learners fail (the platform would show an error; the soak launches again later) |
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { SOAK_PARTITIONS, SOAK_TOPIC, type SoakStack } from './soak-stack.js'

export const FAULT_KINDS = ['broker-down', 'kafka-errors', 'leader-moves', 'outcome-service-restart', 'ags-restart', 'lms-errors'] as const
export type FaultKind = typeof FAULT_KINDS[number]

export interface PlannedFault {
  /** ms after the production phase started. */
  atMs: number
  kind: FaultKind
  /** How long the part stays broken (ignored by one-shot kinds). */
  durationMs: number
}

export interface FaultWindow { kind: FaultKind, startMs: number, endMs: number, detail: string }

export interface FaultInjector {
  /** Runs the schedule until it is done or `signal` aborts; everything is restored before it resolves. */
  run: (signal: AbortSignal) => Promise<void>
  injected: Record<FaultKind, number>
  windows: FaultWindow[]
  errors: string[]
}

/** Kafka error injections, in turn (API key, error code): kafka-testing.md §2.3. */
const KAFKA_ERRORS: Array<{ api: number, code: number, n: number, name: string }> = [
  { api: 1, code: 6, n: 3, name: 'Fetch NOT_LEADER_OR_FOLLOWER ×3' },
  { api: 8, code: 16, n: 2, name: 'OffsetCommit NOT_COORDINATOR ×2' },
  { api: 0, code: 6, n: 2, name: 'Produce NOT_LEADER_OR_FOLLOWER ×2' },
  { api: 12, code: 27, n: 1, name: 'Heartbeat REBALANCE_IN_PROGRESS ×1' }
]

/**
 * The quick form: one of each kind that matters most, inside `seconds`, the last one over at
 * least 3 s before production stops. The full form: a fault every `periodMs`, kinds in turn,
 * 2–5 s each, none starting in the last 8 s.
 */
export function planFaults (seconds: number, quick: boolean, random: () => number): PlannedFault[] {
  const ms = seconds * 1000
  if (quick) {
    // Platforms first, while deliveries flow (a consumer rejoining after the outage would leave
    // them nothing to refuse); the broker outage last, its backlog drained after production.
    const plan: PlannedFault[] = [
      { atMs: 0.1 * ms, kind: 'outcome-service-restart', durationMs: 2000 },
      { atMs: 0.15 * ms, kind: 'ags-restart', durationMs: 2000 },
      { atMs: 0.35 * ms, kind: 'kafka-errors', durationMs: 0 },
      { atMs: 0.4 * ms, kind: 'lms-errors', durationMs: 0 },
      { atMs: 0.45 * ms, kind: 'broker-down', durationMs: 2500 }
    ]
    return plan.filter(f => f.atMs + f.durationMs <= ms - 3000)
  }
  const periodMs = 6000
  const order: FaultKind[] = ['broker-down', 'outcome-service-restart', 'kafka-errors', 'ags-restart', 'leader-moves', 'lms-errors']
  const plan: PlannedFault[] = []
  for (let at = 2000, i = 0; at + 5000 <= ms - 8000; at += periodMs, i++) {
    plan.push({ atMs: at, kind: order[i % order.length]!, durationMs: 2000 + Math.round(random() * 3000) })
  }
  return plan
}

export function createFaultInjector (stack: SoakStack, plan: readonly PlannedFault[], random: () => number): FaultInjector {
  const injected = Object.fromEntries(FAULT_KINDS.map(k => [k, 0])) as Record<FaultKind, number>
  const windows: FaultWindow[] = []
  const errors: string[] = []
  let started = 0
  let kafkaErrorTurn = 0
  const since = (): number => Date.now() - started

  /** Broken → held for durationMs (cut short by abort) → restored. */
  async function hold (signal: AbortSignal, durationMs: number): Promise<void> {
    await sleep(durationMs, undefined, { signal }).catch(() => {})
  }

  async function inject (fault: PlannedFault, signal: AbortSignal): Promise<void> {
    const startMs = since()
    let detail = ''
    switch (fault.kind) {
      case 'broker-down':
        await stack.kafka.command('down -1')
        await hold(signal, fault.durationMs)
        await stack.kafka.command('up -1')
        detail = 'all brokers'
        break
      case 'kafka-errors': {
        const e = KAFKA_ERRORS[kafkaErrorTurn++ % KAFKA_ERRORS.length]!
        await stack.kafka.command(`err ${e.api} ${e.code} ${e.n}`)
        detail = e.name
        break
      }
      case 'leader-moves': {
        const partition = Math.floor(random() * SOAK_PARTITIONS)
        await stack.kafka.command(`leader ${SOAK_TOPIC} ${partition} -1`)
        await hold(signal, fault.durationMs)
        await stack.kafka.command(`leader ${SOAK_TOPIC} ${partition} 1`)
        detail = `partition ${partition} leaderless`
        break
      }
      case 'outcome-service-restart':
        await stack.outcomes.server.down()
        await hold(signal, fault.durationMs)
        await stack.outcomes.server.up()
        detail = `port ${stack.outcomes.server.port}`
        break
      case 'ags-restart':
        await stack.ags.server.down()
        await hold(signal, fault.durationMs)
        await stack.ags.server.up()
        detail = `port ${stack.ags.server.port}`
        break
      case 'lms-errors':
        stack.lms.state.failNext('registration', 3, 503)
        stack.lms.state.failNext('token', 1, 503)
        detail = 'registration 503 ×3, token 503 ×1'
        break
    }
    injected[fault.kind]++
    windows.push({ kind: fault.kind, startMs, endMs: since(), detail })
  }

  /** Whatever state an abort left behind: every broker up, every partition led, both platforms listening. */
  async function restoreAll (): Promise<void> {
    const steps: Array<() => Promise<unknown>> = [
      () => stack.kafka.command('up -1'),
      ...Array.from({ length: SOAK_PARTITIONS }, (_, p) => () => stack.kafka.command(`leader ${SOAK_TOPIC} ${p} 1`)),
      () => stack.outcomes.server.up(),
      () => stack.ags.server.up(),
      async () => { stack.lms.state.clearFaults() }
    ]
    for (const step of steps) await step().catch(err => { errors.push(`restore: ${(err as Error).message}`) })
  }

  return {
    injected,
    windows,
    errors,
    async run (signal) {
      started = Date.now()
      const running: Array<Promise<void>> = []
      for (const fault of plan) {
        await sleep(Math.max(0, fault.atMs - since()), undefined, { signal }).catch(() => {})
        if (signal.aborted) break
        // Faults may overlap (a platform restart during a broker outage): each runs on its own.
        running.push(inject(fault, signal).catch(err => { errors.push(`${fault.kind}: ${(err as Error).message}`) }))
      }
      await Promise.all(running)
      await restoreAll()
    }
  }
}
