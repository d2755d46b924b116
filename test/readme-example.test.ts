// The README's "Testing your app" example, as written there (imports pointed at the sources).
// If this fails, fix the README too.
// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { expect, it } from 'vitest'
import { createTossIap, type GrantFn } from '../src'
import { installTossSimulator } from '../src/testing'
import BuyButton from './fixtures/BuyButton.vue' // a button calling usePurchase('gem-100').purchase

it('a failed grant is recovered on the next start', async () => {
  const sim = installTossSimulator({ appVersion: '5.250.0', os: 'android' })
  const granted: string[] = []
  let serverUp = false
  const grant: GrantFn = ({ orderId }) => (serverUp ? (granted.push(orderId), true) : false)

  const first = mount(BuyButton, { global: { plugins: [createPinia(), createTossIap({ grant })] } })
  await first.get('button').trigger('click')
  await flushPromises()
  expect(sim.pendingOrders()).toHaveLength(1)
  first.unmount()

  serverUp = true
  mount(BuyButton, { global: { plugins: [createPinia(), createTossIap({ grant })] } })
  await flushPromises()
  expect(granted).toHaveLength(1)
  expect(sim.orders[0]!.completed).toBe(true)
  sim.uninstall()
})

it('is still the example the README shows', async () => {
  const { readFileSync } = await import('node:fs')
  const readme = readFileSync('README.md', 'utf8')
  const shown = readme.split('## Testing your app: `vue-toss-iap/testing`')[1]!.split('```ts\n')[1]!.split('```')[0]!
  const here = readFileSync('test/readme-example.test.ts', 'utf8')
  const asHere = shown
    .replace("from 'vue-toss-iap/testing'", "from '../src/testing'")
    .replace("from 'vue-toss-iap'", "from '../src'")
    .replace("from './BuyButton.vue'", "from './fixtures/BuyButton.vue'")
  expect(here).toContain(asHere)
})
