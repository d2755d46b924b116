import { installTossSimulator } from '../testing/simulator.js'
import type { PurchaseScript, SimulatorOptions, TossSimulator } from '../testing/types.js'

// What `vue-toss-iap/vite` puts into the page in `vite dev`, before the app's own modules: the
// simulated Toss host, and optionally a small panel to script the next purchase.

export interface DevHostOptions extends Pick<SimulatorOptions, 'environment' | 'appVersion' | 'os' | 'latency' | 'products'> {
  /** Show the small host panel in a corner of the page. Default `true`. */
  panel?: boolean
  /** Install even when a real Toss bridge is there (the `granite dev` sandbox app). Default `false`. */
  force?: boolean
  /** The language of the panel and of what `vue-toss-iap/vite` prints. Default `'ko'`. */
  locale?: 'ko' | 'en'
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
  const { panel = true, force: _force, mirror, locale = 'ko', ...simulator } = options
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
    if (document.body) mountPanel(sim, locale)
    else addEventListener('DOMContentLoaded', () => mountPanel(sim, locale), { once: true })
  }
  return sim
}

const TEXT = {
  ko: {
    title: '토스 호스트 (시뮬레이터)',
    queue: '다음 구매에 적용',
    clear: '장부 비우기',
    state: (orders: number, pending: number, next: string) => `주문 ${orders}건 · 지급 대기 ${pending}건 · 다음 구매: ${next}`,
    scripts: {
      success: '성공',
      cancel: '사용자가 취소',
      hang: '응답 없음',
      'close-after-pay': '결제 후 앱 종료',
      'error:PAYMENT_PENDING': '결제 승인 대기 (PAYMENT_PENDING)',
      'error:NETWORK_ERROR': '네트워크 오류 (NETWORK_ERROR)',
      'error:PRODUCT_NOT_GRANTED_BY_PARTNER': '지급 실패 (PRODUCT_NOT_GRANTED_BY_PARTNER)',
    },
  },
  en: {
    title: 'Toss host (simulated)',
    queue: 'queue',
    clear: 'clear ledger',
    state: (orders: number, pending: number, next: string) => `orders ${orders} · pending ${pending} · next: ${next}`,
    scripts: {
      success: 'success',
      cancel: 'cancel',
      hang: 'hang',
      'close-after-pay': 'close-after-pay',
      'error:PAYMENT_PENDING': 'PAYMENT_PENDING',
      'error:NETWORK_ERROR': 'NETWORK_ERROR',
      'error:PRODUCT_NOT_GRANTED_BY_PARTNER': 'PRODUCT_NOT_GRANTED_BY_PARTNER',
    },
  },
} as const

type Script = keyof (typeof TEXT)['ko']['scripts']

/** A few plain DOM elements (no Vue: it must not touch the app's own instance or devtools). */
function mountPanel(sim: TossSimulator, locale: 'ko' | 'en') {
  const text = TEXT[locale] ?? TEXT.ko
  const box = document.createElement('details')
  box.dataset.vueTossIapPanel = ''
  box.lang = locale
  box.style.cssText =
    'position:fixed;right:8px;bottom:8px;z-index:2147483000;max-width:calc(100vw - 16px);box-sizing:border-box;' +
    'background:#fff;border:1px solid #c9e2ff;border-radius:10px;padding:6px 10px;font:12px system-ui,sans-serif;color:#191f28;box-shadow:0 2px 8px #0002'
  const summary = document.createElement('summary')
  summary.textContent = text.title
  const select = document.createElement('select')
  for (const [value, label] of Object.entries(text.scripts)) select.append(new Option(label, value))
  select.style.maxWidth = '100%'
  const queue = document.createElement('button')
  queue.textContent = text.queue
  const state = document.createElement('div')
  const label = (script: string) => text.scripts[script as Script] ?? text.scripts[`error:${script}` as Script] ?? script
  const render = () => {
    const pending = sim.pendingOrders().length
    const queued = sim.queuedPurchases().map((s) => label(typeof s === 'string' ? s : s.error))
    state.textContent = text.state(sim.orders.length, pending, queued.join(', ') || text.scripts.success)
  }
  queue.addEventListener('click', () => {
    const v = select.value
    sim.nextPurchase((v.startsWith('error:') ? { error: v.slice(6) } : v) as PurchaseScript)
    render()
  })
  const reset = document.createElement('button')
  reset.textContent = text.clear
  reset.addEventListener('click', () => (sim.clearLedger(), render()))
  box.addEventListener('toggle', render)
  setInterval(render, 1000)
  box.append(summary, select, ' ', queue, ' ', reset, state)
  document.body.append(box)
  render()
}
