import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { checks, type Finding } from './pending-fixes'
import type { Schedule, Step } from './steps'
import { runSchedule } from './world'

// Every failure the schedule search found (issue #9), as its shrunk schedule: each one fails
// without its fix. The seed is where the search first met it (with the generator of its day).

const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] as const
beforeEach(() => void vi.useFakeTimers({ toFake: [...FAKED] }))
afterEach(() => void vi.useRealTimers())

const app = (extra: Partial<Extract<Step, { do: 'mount' }>> = {}): Step => ({ do: 'mount', recover: true, entitlements: false, ...extra })

const regressions: Array<{ name: string; finding: Finding; schedule: Schedule }> = [
  {
    name: '#1 an onOrderEvent listener that rejects leaves no unhandled rejection',
    finding: 'listener-isolation',
    schedule: {
      seed: 3,
      os: 'ios',
      pendingOrdersFormat: 'orders',
      steps: [app(), { do: 'listen', how: 'reject' }, { do: 'buy', product: 2, taps: 1 }],
    },
  },
  {
    name: "#1 a listener's rejection reaches app.config.errorHandler once",
    finding: 'listener-isolation',
    schedule: {
      seed: 6,
      os: 'ios',
      pendingOrdersFormat: 'orders',
      steps: [app({ listener: 'reject' }), { do: 'buy', product: 0, taps: 1 }],
    },
  },
  {
    name: '#1 a listener that throws does not make whenReady() reject while recovery grants an order',
    finding: 'listener-isolation',
    schedule: {
      seed: 27,
      os: 'android',
      pendingOrdersFormat: 'orders',
      steps: [{ do: 'paid', sku: 'premium-monthly' }, app({ listener: 'throw' })],
    },
  },
  {
    name: '#1 a listener that throws does not make purchase() reject when the app closes after paying',
    finding: 'listener-isolation',
    schedule: {
      seed: 8,
      os: 'android',
      pendingOrdersFormat: 'orders',
      steps: [app(), { do: 'listen', how: 'throw' }, { do: 'script', script: 'close-after-pay' }, { do: 'buy', product: 0, taps: 1 }],
    },
  },
  {
    name: '#1 a listener that throws on a cancel leaves the button able to buy again',
    finding: 'listener-isolation',
    schedule: {
      seed: 0,
      os: 'android',
      pendingOrdersFormat: 'orders',
      steps: [
        app({ listener: 'throw', recover: false }),
        { do: 'script', script: 'cancel' },
        { do: 'buy', product: 0, taps: 1 },
        { do: 'wait', ms: 50 },
        { do: 'buy', product: 0, taps: 1 },
      ],
    },
  },
  {
    name: '#1 an onRevoked listener that throws is reported once and does not stop the entitlement refresh',
    finding: 'listener-isolation',
    schedule: {
      seed: 0,
      os: 'android',
      pendingOrdersFormat: 'orders',
      steps: [
        app({ entitlements: true, revoked: 'throw' }),
        { do: 'buy', product: 1, taps: 1 },
        { do: 'wait', ms: 1_000 },
        { do: 'refund', nth: 0 },
        { do: 'entitlements' },
        { do: 'wait', ms: 1_000 },
      ],
    },
  },
  {
    name: '#1 an onRevoked listener that rejects leaves no unhandled rejection',
    finding: 'listener-isolation',
    schedule: {
      seed: 0,
      os: 'android',
      pendingOrdersFormat: 'orders',
      steps: [
        app({ entitlements: true, revoked: 'reject' }),
        { do: 'buy', product: 1, taps: 1 },
        { do: 'wait', ms: 1_000 },
        { do: 'refund', nth: 0 },
        { do: 'entitlements' },
        { do: 'wait', ms: 1_000 },
      ],
    },
  },
  {
    name: '#4 no payment sheet opens on an app that cannot recover (iOS 5.230.x)',
    finding: 'version-gap',
    schedule: {
      seed: 10,
      os: 'ios',
      pendingOrdersFormat: 'both',
      steps: [app(), { do: 'version', appVersion: '5.230.5' }, { do: 'buy', product: 0, taps: 1 }],
    },
  },
  {
    name: '#4 no payment sheet opens on an app that cannot recover (Android 5.232.x)',
    finding: 'version-gap',
    schedule: {
      seed: 0,
      os: 'android',
      pendingOrdersFormat: 'orders',
      steps: [app(), { do: 'version', appVersion: '5.232.0' }, { do: 'buy', product: 0, taps: 1 }],
    },
  },
  {
    name: '#5 a remount while a grant runs does not start a second grant for the same order',
    finding: 'page-wide-single-flight',
    schedule: {
      seed: 28,
      os: 'android',
      pendingOrdersFormat: 'orderIds',
      steps: [app(), { do: 'server', mode: { slow: 40_000, then: 'throw' } }, { do: 'buy', product: 0, taps: 1 }, app()],
    },
  },
  {
    name: '#6 with the wall clock set back, returning to the foreground still recovers once the throttle has elapsed',
    finding: 'monotonic-clock',
    schedule: {
      seed: 23,
      os: 'android',
      pendingOrdersFormat: 'orders',
      steps: [app(), { do: 'clock', ms: -120_000 }, { do: 'wait', ms: 31_000 }, { do: 'hide' }, { do: 'show' }],
    },
  },
  {
    name: '#6 with the wall clock set forward, returning to the foreground within the throttle does not recover again',
    finding: 'monotonic-clock',
    schedule: {
      seed: 0,
      os: 'android',
      pendingOrdersFormat: 'orders',
      steps: [app(), { do: 'clock', ms: 120_000 }, { do: 'hide' }, { do: 'show' }],
    },
  },
  {
    name: '#10 recovery does not call a subscription one-time when the host lists ids only',
    finding: 'recovery-kind',
    schedule: { seed: 26, os: 'ios', pendingOrdersFormat: 'orderIds', steps: [{ do: 'paid', sku: 'premium-monthly' }] },
  },
  {
    name: '#10 recovery does not call a subscription one-time when the catalogue fails to load',
    finding: 'recovery-kind',
    schedule: {
      seed: 0,
      os: 'android',
      pendingOrdersFormat: 'orders',
      steps: [
        { do: 'paid', sku: 'premium-monthly' },
        { do: 'fault', fn: 'iapGetProductItemList', fault: { error: 'NETWORK_ERROR' }, times: 1 },
        app(),
      ],
    },
  },
  {
    name: '#11 a purchase completed by a recovery while Toss never confirmed carries no ABORTED error',
    finding: 'completed-no-error',
    schedule: {
      seed: 1141,
      os: 'android',
      pendingOrdersFormat: 'orders',
      steps: [
        app(),
        { do: 'fault', fn: 'processProductGrant', fault: 'hang', times: 1 },
        { do: 'buy', product: 0, taps: 1 },
        { do: 'recover' },
      ],
    },
  },
  {
    name: '#11 a purchase completed by a recovery while Toss never confirmed carries no TIMEOUT error',
    finding: 'completed-no-error',
    schedule: {
      seed: 0,
      os: 'android',
      pendingOrdersFormat: 'orders',
      steps: [
        app(),
        { do: 'fault', fn: 'processProductGrant', fault: 'hang', times: 1 },
        { do: 'buy', product: 0, taps: 1 },
        { do: 'recover' },
        { do: 'wait', ms: 3_000 },
      ],
    },
  },
  {
    name: 'a recovery of an unmounted app does not grant, from its stale list, an order completed and refunded since',
    finding: 'stale-recovery-listing',
    schedule: {
      seed: 160341,
      os: 'ios',
      pendingOrdersFormat: 'orders',
      steps: [
        { do: 'fault', fn: 'iapGetProductItemList', fault: 'hang', times: 1 },
        { do: 'paid', sku: 'remove-ads' },
        app(),
        app(),
        { do: 'refund', nth: 3 },
      ],
    },
  },
]

for (const { name, finding, schedule } of regressions) {
  it.skipIf(!checks(finding))(name, async () => {
    const violations = await runSchedule(schedule)
    expect(violations.map((v) => `${v.invariant}: ${v.detail}`)).toEqual([])
  })
}
