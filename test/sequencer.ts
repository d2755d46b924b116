import { relative } from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/** A file's time when no earlier run measured it. */
const UNKNOWN_MS = 3_000

/**
 * The order the pool takes test files in (it starts the next one whenever a worker is free).
 * Vitest's own order runs project after project, longest file first: on this project's small
 * machines that started all three end-to-end files at once (three Chromiums and three Vite dev
 * servers), which made the slowest of them slower still and timing-sensitive, while the cheap unit
 * files waited at the end. Here the workers are planned from the last run's times, longest first,
 * with two rules:
 *   - no two end-to-end files at once: while one runs, the other workers take server and unit files;
 *   - the unit files, which share one worker process each (isolate: false), come one after another,
 *     so that a worker that took one takes the next.
 * A plan, not a guarantee: a file that runs longer than last time only shifts what follows.
 */
export default class PlannedSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files) // failed first, then longest first, within each project
    const root = this.ctx.config.root
    const ms = (spec: TestSpecification) =>
      this.ctx.cache.getFileTestResults(`${spec.project.name}:${relative(root, spec.moduleId)}`)?.duration || UNKNOWN_MS
    const byLength = (list: TestSpecification[]) => [...list].sort((a, b) => ms(b) - ms(a))
    // Browser-mode files run beside the pool, in their own: they take no worker.
    const browser = sorted.filter((s) => s.pool === 'browser')
    const pooled = sorted.filter((s) => s.pool !== 'browser')
    const e2e = byLength(pooled.filter((s) => s.project.name === 'e2e'))
    const unit = pooled.filter((s) => s.project.name === 'unit')
    const others = byLength(pooled.filter((s) => s.project.name !== 'e2e' && s.project.name !== 'unit'))
    const workers = Math.max(1, this.ctx.config.maxWorkers)

    // Simulate the pool: each worker is free at some time, and runs an end-to-end file or not.
    const lanes = Array.from({ length: workers }, () => ({ free: 0, e2e: false }))
    const order: TestSpecification[] = [...browser]
    while (e2e.length || others.length || unit.length) {
      const lane = lanes.reduce((a, b) => (b.free < a.free ? b : a))
      const e2eRunning = lanes.some((l) => l !== lane && l.e2e && l.free > lane.free)
      const next = (!e2eRunning && e2e.shift()) || others.shift() || unit.shift() || e2e.shift()!
      order.push(next)
      lane.free += next.project.name === 'unit' ? ms(next) : ms(next) + 1_000 // a new process each
      lane.e2e = next.project.name === 'e2e'
    }
    return order
  }
}
