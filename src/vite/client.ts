import { DEFAULT_PRODUCTS } from '../testing/catalogue.js'
import { installTossSimulator } from '../testing/simulator.js'
import type { PurchaseScript, SimulatorOptions, TossSimulator } from '../testing/types.js'

// What `vue-toss-iap/vite` puts into the page in `vite dev`, before the app's own modules: the
// simulated Toss host, and optionally a small panel to script the next purchase.

export interface DevHostOptions extends Pick<SimulatorOptions, 'environment' | 'appVersion' | 'os' | 'latency' | 'products'> {
  /** Show the small host panel in a corner of the page. Default `true`. */
  panel?: boolean
  /** Install even when a real Toss bridge is there (the `granite dev` sandbox app). Default `false`. */
  force?: boolean
  /** @internal Where the dev server's fake Toss learns the host's orders (set by the plugin). */
  mirror?: string
}

declare global {
  interface Window {
    /** The simulated host `vue-toss-iap/vite` installed, for the console and for tests. */
    __vueTossIapDevHost?: TossSimulator
  }
}

/**
 * Installs the simulated host, unless a real Toss bridge is already in the page: then it refuses,
 * says so in the console and returns `null` (never fake a real host; `force: true` overrides).
 */
export function installDevHost(options: DevHostOptions = {}): TossSimulator | null {
  if (typeof window === 'undefined') return null
  if (window.__vueTossIapDevHost) return window.__vueTossIapDevHost
  const real = (window as { ReactNativeWebView?: unknown }).ReactNativeWebView !== undefined
  if (real && !options.force) {
    console.error(
      '[vue-toss-iap] vue-toss-iap/vite refused to install its simulated Toss host: this page already has a real Toss bridge ' +
        '(window.ReactNativeWebView, e.g. the granite dev sandbox app), and purchases here are real. Pass tossIapDev({ force: true }) to simulate anyway.',
    )
    return null
  }
  const { panel = true, force: _force, mirror, ...simulator } = options
  // Toss keeps its orders when the mini-app is closed; so does this host, across reloads. The real
  // Toss also knows every order on its servers: the ledger goes to the dev server's fake Toss too.
  const storage: Pick<Storage, 'getItem' | 'setItem'> = {
    getItem: (key) => localStorage.getItem(key),
    setItem(key, value) {
      localStorage.setItem(key, value)
      if (mirror) void fetch(mirror, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: value }).catch(() => {})
    },
  }
  const sim = installTossSimulator({
    ...simulator,
    persist: { storage, key: 'vue-toss-iap:dev-host' },
    onAppClose: () => setTimeout(() => location.reload(), 300),
  })
  window.__vueTossIapDevHost = sim
  if (panel) {
    if (document.body) mountPanel(sim, options.products?.map((p) => p.sku) ?? DEFAULT_PRODUCTS.map((p) => p.sku))
    else addEventListener('DOMContentLoaded', () => mountPanel(sim, []), { once: true })
  }
  return sim
}

const SCRIPTS: Array<[string, string]> = [
  ['success', '성공 success'],
  ['cancel', '취소 cancel'],
  ['hang', '응답 없음 hang'],
  ['close-after-pay', '결제 후 앱 종료 close-after-pay'],
  ['error:PAYMENT_PENDING', 'PAYMENT_PENDING'],
  ['error:NETWORK_ERROR', 'NETWORK_ERROR'],
  ['error:PRODUCT_NOT_GRANTED_BY_PARTNER', 'PRODUCT_NOT_GRANTED_BY_PARTNER'],
]

/** A few plain DOM elements (no Vue: it must not touch the app's own instance or devtools). */
function mountPanel(sim: TossSimulator, _skus: string[]) {
  const box = document.createElement('details')
  box.dataset.vueTossIapPanel = ''
  box.style.cssText =
    'position:fixed;right:8px;bottom:8px;z-index:2147483000;max-width:calc(100vw - 16px);box-sizing:border-box;' +
    'background:#fff;border:1px solid #c9e2ff;border-radius:10px;padding:6px 10px;font:12px system-ui,sans-serif;color:#191f28;box-shadow:0 2px 8px #0002'
  const summary = document.createElement('summary')
  summary.textContent = 'Toss host (simulated)'
  const select = document.createElement('select')
  for (const [value, label] of SCRIPTS) select.append(new Option(label, value))
  select.style.maxWidth = '100%'
  const queue = document.createElement('button')
  queue.textContent = 'queue'
  const state = document.createElement('div')
  const render = () => {
    const pending = sim.pendingOrders().length
    const queued = sim.queuedPurchases().map((s) => (typeof s === 'string' ? s : s.error))
    state.textContent = `orders ${sim.orders.length} · pending ${pending} · next: ${queued.join(', ') || 'success'}`
  }
  queue.addEventListener('click', () => {
    const v = select.value
    sim.nextPurchase((v.startsWith('error:') ? { error: v.slice(6) } : v) as PurchaseScript)
    render()
  })
  const reset = document.createElement('button')
  reset.textContent = 'clear ledger'
  reset.addEventListener('click', () => (sim.clearLedger(), render()))
  box.addEventListener('toggle', render)
  setInterval(render, 1000)
  box.append(summary, select, ' ', queue, ' ', reset, state)
  document.body.append(box)
  render()
}
