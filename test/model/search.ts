import { generate, type Schedule, type Step } from './steps'
import { runSchedule, type Violation } from './world'

/** Simpler versions of one step: fewer options, one tap, shorter waits. */
function simpler(step: Step): Step[] {
  switch (step.do) {
    case 'mount': {
      const out: Step[] = []
      if (step.listener) out.push({ ...step, listener: undefined })
      if (step.revoked) out.push({ ...step, revoked: undefined })
      if (step.entitlements) out.push({ ...step, entitlements: false })
      if (!step.recover) out.push({ ...step, recover: true })
      if (step.alongside) out.push({ ...step, alongside: undefined })
      return out.map((s) => JSON.parse(JSON.stringify(s)) as Step)
    }
    case 'buy':
      return step.taps === 2 ? [{ ...step, taps: 1 }] : []
    case 'fault':
      return step.times > 1 ? [{ ...step, times: 1 }] : []
    default:
      return []
  }
}

/**
 * Greedy shrinking: drops one step at a time (from the end) and keeps the drop whenever the
 * schedule still breaks the same invariant, until no single step can go; then simplifies the
 * steps that are left the same way.
 */
export async function shrink(schedule: Schedule, invariant: string): Promise<{ schedule: Schedule; violation: Violation }> {
  let best = schedule
  let violation = (await runSchedule(best)).find((v) => v.invariant === invariant)!
  const attempt = async (candidate: Schedule) => {
    const found = (await runSchedule(candidate)).find((v) => v.invariant === invariant)
    if (found) ((best = candidate), (violation = found))
    return !!found
  }
  for (let changed = true; changed;) {
    changed = false
    for (let i = best.steps.length - 1; i >= 0; i--) {
      if (await attempt({ ...best, steps: best.steps.filter((_, j) => j !== i) })) changed = true
    }
    for (let i = 0; i < best.steps.length; i++) {
      for (const variant of simpler(best.steps[i]!)) {
        if (await attempt({ ...best, steps: best.steps.map((s, j) => (j === i ? variant : s)) })) changed = true
      }
    }
  }
  return { schedule: best, violation }
}

export interface Failure {
  seed: number
  violation: Violation
  shrunk: Schedule
}

export function describeFailure(f: Failure): string {
  const steps = f.shrunk.steps.map((s, i) => `  ${String(i).padStart(2)}. ${JSON.stringify(s)}`).join('\n')
  return [
    `seed ${f.seed}: ${f.violation.invariant}`,
    `  ${f.violation.detail} (${f.violation.step === f.shrunk.steps.length ? 'at the clean start' : `after step ${f.violation.step}`})`,
    `  replay: IAP_SCHEDULE_SEED=${f.seed} npx vitest run --project unit test/model/schedules.test.ts`,
    `  shrunk schedule (os ${f.shrunk.os}, pending orders as ${f.shrunk.pendingOrdersFormat}, host latency ${f.shrunk.latency ?? 0} ms):`,
    steps,
    `  as JSON: ${JSON.stringify(f.shrunk)}`,
  ].join('\n')
}

/** Runs `seeds`, shrinking each failure; stops after `maxFailures` distinct invariants broke. */
export async function search(seeds: Iterable<number>, maxFailures = 5): Promise<{ runs: number; failures: Failure[] }> {
  const failures: Failure[] = []
  let runs = 0
  for (const seed of seeds) {
    runs++
    const schedule = generate(seed)
    const found = await runSchedule(schedule, { stopAtFirst: true })
    const first = found.find((v) => !failures.some((f) => f.violation.invariant === v.invariant))
    if (!first) continue
    const { schedule: shrunk, violation } = await shrink(schedule, first.invariant)
    failures.push({ seed, violation, shrunk })
    if (failures.length >= maxFailures) break
  }
  return { runs, failures }
}
