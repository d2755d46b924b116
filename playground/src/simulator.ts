import type { App, InjectionKey } from 'vue'
import { DEFAULT_PRODUCTS, installTossSimulator, type SimulatorOptions, type TossSimulator } from 'vue-toss-iap/testing'
import type { IapProduct } from 'vue-toss-iap'

export const SIMULATOR: InjectionKey<TossSimulator> = Symbol('simulator')

const SETTINGS_KEY = 'playground:host-settings'
export type HostSettings = Required<Pick<SimulatorOptions, 'environment' | 'appVersion' | 'os' | 'latency'>>
export const DEFAULT_SETTINGS: HostSettings = { environment: 'toss', appVersion: '5.250.0', os: 'android', latency: 400 }

export function loadSettings(): HostSettings {
  try {
    return { ...DEFAULT_SETTINGS, ...JSON.parse(sessionStorage.getItem(SETTINGS_KEY) ?? '{}') }
  } catch {
    return DEFAULT_SETTINGS
  }
}
export const saveSettings = (s: HostSettings) => sessionStorage.setItem(SETTINGS_KEY, JSON.stringify(s))

/** `?catalogue=hostile` shows that product text is rendered as text, never as HTML. */
function catalogue(): IapProduct[] {
  if (new URLSearchParams(location.search).get('catalogue') !== 'hostile') return DEFAULT_PRODUCTS
  return [
    { ...DEFAULT_PRODUCTS[0]!, displayName: '<img src=x onerror="window.__xss=1">Gems', description: '<b>not bold</b>' },
    ...DEFAULT_PRODUCTS.slice(1),
  ]
}

/**
 * The real Toss knows every order it took payment for; the playground's fake Toss partner API runs
 * in the dev server, so each save of the simulated host's ledger is mirrored there as well.
 */
function mirroredToDevServer(storage: Storage): Pick<Storage, 'getItem' | 'setItem'> {
  const mirror = (value: string | null) => {
    if (value)
      void fetch('/api/toss/orders', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: value }).catch(() => {})
  }
  return {
    getItem: (key) => {
      const value = storage.getItem(key)
      mirror(value)
      return value
    },
    setItem: (key, value) => {
      storage.setItem(key, value)
      mirror(value)
    },
  }
}

export function setupSimulator(app: App) {
  const sim = installTossSimulator({
    ...loadSettings(),
    products: catalogue(),
    // Toss keeps its orders when the mini-app is closed; so does the simulated host.
    persist: { storage: mirroredToDevServer(localStorage), key: 'playground:toss-ledger' },
    // "Close the app after paying": the page goes away, as if the user killed the app.
    onAppClose: () => setTimeout(() => location.reload(), 300),
  })
  app.provide(SIMULATOR, sim)
  ;(window as { __sim?: TossSimulator }).__sim = sim
  return sim
}
