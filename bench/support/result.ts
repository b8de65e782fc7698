/**
 * What every bench part reports: its figures, each with its limit measured in the same run (the
 * ceiling of this machine for that kind of work), the ratio between them, and the target.
 */
import { writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'

export interface Figure {
  /** What was measured, e.g. "LTI 1.1 launch, SQLite: launches/s". */
  name: string
  value: number | null
  unit: string
  /** p50/p99 and other companions, shown next to the value. */
  extra?: string
  /** The same-run limit this figure is read against. */
  limit?: { name: string, value: number, unit: string }
  /** value / limit.value. */
  ratio?: number
  /** The target, in words, e.g. "≥ 8,000/s". */
  target?: string
  /** true/false against the target; null: no target, or not measurable here. */
  met?: boolean | null
  /** "skipped: …" or a short remark. */
  note?: string
}

export interface PartResult {
  part: string
  title: string
  command: string
  startedAt: string
  seconds: number
  /** 1-minute load average before and after: the machine is shared with other work. */
  loadAverage: { before: number, after: number }
  figures: Figure[]
  details?: unknown
}

export function machine (): { cores: number, model: string | undefined, memoryGiB: number, node: string, platform: string } {
  return { cores: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform} ${process.arch}` }
}

export function round (value: number, digits = 0): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

export function ratio (value: number, limit: number): number {
  return limit > 0 ? round(value / limit, 3) : 0
}

/** Starts the clock of a part; `finish` stamps duration and load average. */
export function startPart (part: string, title: string, command: string) {
  const started = Date.now()
  const before = loadavg()[0] ?? 0
  return {
    finish (figures: Figure[], details?: unknown): PartResult {
      return {
        part,
        title,
        command,
        startedAt: new Date(started).toISOString(),
        seconds: round((Date.now() - started) / 1000, 1),
        loadAverage: { before: round(before, 2), after: round(loadavg()[0] ?? 0, 2) },
        figures,
        details
      }
    }
  }
}

/** Writes the result to `--out <file>` (run-all) or prints it. */
export function emitResult (result: PartResult, out: string | undefined): void {
  const text = JSON.stringify(result, null, 2)
  if (out !== undefined) writeFileSync(out, text + '\n')
  process.stdout.write(text + '\n')
}

/** Percentile of a sorted list (nearest rank). */
export function percentile (sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}
