import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { describeFailure, search, type Failure } from './search'
import type { Schedule } from './steps'
import { runSchedule, stats } from './world'

// The seeded, randomized, model-based schedule search of issue #9 (see world.ts for the
// invariants). Every CI run checks seeds START..START+COUNT-1; a failure prints its seed and a
// shrunk schedule.
//   IAP_SCHEDULES=100000 npx vitest run --project unit test/model/schedules.test.ts   (a release check)
//   IAP_SCHEDULE_SEED=123 npx vitest run --project unit test/model/schedules.test.ts  (replays one seed)
//   IAP_SCHEDULE='{"seed":…,"steps":[…]}' …                                           (replays a printed schedule)
const COUNT = Number(process.env.IAP_SCHEDULES ?? 1_000)
const START = Number(process.env.IAP_SCHEDULE_START ?? 1)
const SEED = process.env.IAP_SCHEDULE_SEED
const EXACT = process.env.IAP_SCHEDULE

export const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] as const

beforeEach(() => void vi.useFakeTimers({ toFake: [...FAKED] }))
afterEach(() => void vi.useRealTimers())

it(
  `${EXACT ? 'the given schedule keeps' : SEED ? `seed ${SEED} keeps` : `${COUNT} random schedules keep`} the money invariants`,
  async () => {
    let failures: Failure[]
    let runs = 1
    const started = process.hrtime.bigint()
    if (EXACT) {
      const schedule = JSON.parse(EXACT) as Schedule
      failures = (await runSchedule(schedule)).map((violation) => ({ seed: schedule.seed, violation, shrunk: schedule }))
    } else {
      const seeds = SEED ? [Number(SEED)] : Array.from({ length: COUNT }, (_, i) => START + i)
      ;({ runs, failures } = await search(seeds, Number(process.env.IAP_MAX_FAILURES ?? 5)))
    }
    const report = failures.map(describeFailure).join('\n\n')
    if (process.env.IAP_SCHEDULES) console.log(`${runs} schedules in ${(process.hrtime.bigint() - started) / 1_000_000n} ms`, stats)
    if (report) console.error(report)
    expect(
      failures.map((f) => `seed ${f.seed}: ${f.violation.invariant}`),
      report,
    ).toEqual([])
  },
  60_000 + COUNT * 1_000,
)
