import { TOSS_ERROR_CODES } from '../../src'
import type { PurchaseScript } from '../../src/testing'
import { checks } from './pending-fixes'
import { createRng, type Rng } from './prng'

/** How the app server's grant answers from now on. `hang` runs for ten minutes, then throws. */
export type GrantMode = 'ok' | 'false' | 'throw' | 'hang' | { slow: number; then: 'ok' | 'false' | 'throw' }

export type HostFault = 'hang' | { error: string; bare?: boolean } | { respond: unknown }

export type FaultedCall =
  | 'completeProductGrant'
  | 'getPendingOrders'
  | 'iapGetProductItemList'
  | 'processProductGrant'
  | 'getCompletedOrRefundedOrders'
  | 'getSubscriptionInfo'
const FAULTED: ReadonlyArray<readonly [number, FaultedCall]> = [
  [3, 'completeProductGrant'],
  [3, 'getPendingOrders'],
  [2, 'iapGetProductItemList'],
  [2, 'processProductGrant'],
  [1, 'getCompletedOrRefundedOrders'],
  [1, 'getSubscriptionInfo'],
]

/** One step of a schedule. Plain data, so that a schedule prints as JSON and replays. */
export type Step =
  /**
   * A new app: unmounts the apps of the page (the page stays), then a new Pinia and plugin
   * install. `alongside`: a second app in the same page (micro-frontends), the others stay.
   */
  | {
      do: 'mount'
      recover: boolean
      entitlements: boolean
      listener?: 'throw' | 'reject'
      revoked?: 'throw' | 'reject'
      alongside?: true
    }
  /** The newest app is killed: unmounted. The host's ledger and the app server persist. */
  | { do: 'kill' }
  /** A tap (or a double tap) on a buy button: 0 `gem-100`, 1 `remove-ads`, 2 `premium-monthly`. */
  | { do: 'buy'; product: 0 | 1 | 2; taps: 1 | 2 }
  /** How the host runs the next purchase. */
  | { do: 'script'; script: PurchaseScript }
  | { do: 'server'; mode: GrantMode }
  | { do: 'fault'; fn: FaultedCall; fault: HostFault; times: number }
  /** The user leaves a purchase whose sheet hangs (`usePurchase().abandon()`). */
  | { do: 'abandon'; product: 0 | 1 | 2 }
  /** An `onOrderEvent` listener of the current app that throws or rejects on every event. */
  | { do: 'listen'; how: 'throw' | 'reject' }
  | { do: 'recover' }
  /** `useEntitlementStore().refreshEntitlements()`, when the app uses entitlements. */
  | { do: 'entitlements' }
  | { do: 'whenReady' }
  | { do: 'hide' }
  | { do: 'show' }
  /** The wall clock is set forward or back (elapsed time does not change). */
  | { do: 'clock'; ms: number }
  | { do: 'wait'; ms: number }
  /** An order paid in an earlier session the page never heard of. */
  | { do: 'paid'; sku: 'gem-100' | 'remove-ads' | 'premium-monthly' }
  /** Toss refunds the `nth` completed order (if there is one). */
  | { do: 'refund'; nth: number }
  /** The Toss app is updated or downgraded. */
  | { do: 'version'; appVersion: string }

export interface Schedule {
  seed: number
  os: 'android' | 'ios'
  pendingOrdersFormat: 'orders' | 'orderIds' | 'both'
  /** How long the host takes to answer anything, in ms (absent: 0, the next microtask). */
  latency?: number
  steps: Step[]
}

const SKUS = ['gem-100', 'remove-ads', 'premium-monthly'] as const
// What Toss may refuse a purchase with before any order exists: every code but the user's own
// cancel and the post-payment refusal (both scripted by other steps), in the table's order.
const ERRORS = TOSS_ERROR_CODES.filter((code) => code !== 'USER_CANCELED' && code !== 'PRODUCT_NOT_GRANTED_BY_PARTNER')

/** Versions where the purchase flow exists but recovery does not (issue #9, finding 4), and a healthy one. */
export const VERSIONS = { android: ['5.250.0', '5.232.0'], ios: ['5.250.0', '5.230.5'] } as const
export const HEALTHY_VERSION = '5.250.0'

function script(rng: Rng): PurchaseScript {
  return rng.weighted<PurchaseScript>([
    [4, 'success'],
    [3, 'cancel'],
    [1, 'hang'],
    [2, 'duplicate-purchased'],
    [2, 'close-after-pay'],
    [2, 'close-during-grant'],
    [2, { error: rng.pick(ERRORS), bare: rng.chance(0.3) }],
  ])
}

function grantMode(rng: Rng): GrantMode {
  return rng.weighted<GrantMode>([
    [4, 'ok'],
    [2, 'false'],
    [2, 'throw'],
    [1, 'hang'],
    [3, { slow: rng.pick([500, 2_000, 4_000, 20_000, 40_000]), then: rng.pick(['ok', 'ok', 'false', 'throw'] as const) }],
  ])
}

function fault(rng: Rng): HostFault {
  return rng.weighted<HostFault>([
    [2, 'hang'],
    [2, { error: rng.pick(['NETWORK_ERROR', 'INTERNAL_ERROR', 'APP_BRIDGE_THROTTLED']), bare: rng.chance(0.3) }],
    [1, { respond: false }],
    [1, { respond: undefined }],
    [1, { respond: {} }],
  ])
}

/** A random schedule for `seed`: the same seed always gives the same schedule. */
export function generate(seed: number, length?: number): Schedule {
  const rng = createRng(seed)
  const os = rng.pick(['android', 'ios'] as const)
  const pendingOrdersFormat = rng.weighted([
    [4, 'orders'],
    [1, 'orderIds'],
    [1, 'both'],
  ] as const)
  const latency = rng.weighted([
    [6, 0],
    [2, 50],
    [1, 400],
  ] as const)
  const n = length ?? rng.between(6, 20)
  const listeners = checks('listener-isolation')
  const steps: Step[] = []
  if (rng.chance(0.2)) steps.push({ do: 'paid', sku: rng.pick(SKUS) })
  const mount = (): Extract<Step, { do: 'mount' }> => {
    const entitlements = rng.chance(0.35)
    return {
      do: 'mount',
      recover: rng.chance(0.8),
      entitlements,
      ...(listeners && rng.chance(0.15) && { listener: rng.pick(['throw', 'reject'] as const) }),
      ...(listeners && entitlements && rng.chance(0.4) && { revoked: rng.pick(['throw', 'reject'] as const) }),
    }
  }
  steps.push(mount())
  const another = (): Step => (rng.chance(0.25) ? { ...mount(), alongside: true } : mount())
  for (let i = 0; i < n; i++) {
    const step = rng.weighted<() => Step>([
      [
        10,
        () => ({
          do: 'buy',
          product: rng.weighted([
            [5, 0],
            [2, 1],
            [2, 2],
          ] as const),
          taps: rng.chance(0.25) ? 2 : 1,
        }),
      ],
      [6, () => ({ do: 'script', script: script(rng) })],
      [
        1,
        () => ({
          do: 'abandon',
          product: rng.weighted([
            [5, 0],
            [2, 1],
            [2, 2],
          ] as const),
        }),
      ],
      [5, () => ({ do: 'server', mode: grantMode(rng) })],
      [
        3,
        () => ({
          do: 'fault',
          fn: rng.weighted(FAULTED),
          fault: fault(rng),
          times: rng.between(1, 3),
        }),
      ],
      [listeners ? 1 : 0, () => ({ do: 'listen', how: rng.pick(['throw', 'reject'] as const) })],
      [3, () => ({ do: 'recover' })],
      [2, () => ({ do: 'entitlements' })],
      [1, () => ({ do: 'whenReady' })],
      [2, () => ({ do: 'hide' })],
      [2, () => ({ do: 'show' })],
      [1, () => ({ do: 'clock', ms: rng.pick([-3_600_000, -120_000, -20_000, 20_000, 120_000]) })],
      [6, () => ({ do: 'wait', ms: rng.pick([50, 1_000, 3_000, 10_000, 31_000, 60_000]) })],
      [2, () => ({ do: 'kill' })],
      [3, another],
      [1, () => ({ do: 'paid', sku: rng.pick(SKUS) })],
      [2, () => ({ do: 'refund', nth: rng.int(4) })],
      [1, () => ({ do: 'version', appVersion: rng.pick(VERSIONS[os]) })],
    ])()
    steps.push(step)
  }
  return { seed, os, pendingOrdersFormat, ...(latency > 0 && { latency }), steps }
}
