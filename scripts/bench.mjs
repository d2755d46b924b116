// npm run bench: what users pay, printed as one table and written to BENCHMARKS.md: bytes as an
// app's Vite build ships them, startup on a slowed-down Chromium, bridge calls and timers per
// purchase, leaks and memory per order, and the server half side by side with a hand-written handler
// (scripts/bench-server.mjs, scripts/minimal-handler.mjs). Run with --expose-gc (the npm script does). Counts hold
// from machine to machine; absolute times are this machine's.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { GlobalRegistrator } from '@happy-dom/global-registrator'
import { benchStartup } from './bench-startup.mjs'
import { CONSUMER_BUDGETS, measureConsumer, measureConsumers } from './consumer-size.mjs'

if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc (npm run bench does)')
process.env.NODE_ENV = 'production' // what users ship: no devtools
execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' })

const rows = [] // [section, metric, value, note]
const add = (section, metric, value, note = '') => rows.push([section, metric, value, note])

// 1. Size: Vite production builds of tiny apps against the built dist, peers external; the
// comparison libraries measured the same way in the same run.
{
  const sizes = await measureConsumers()
  sizes.push(
    await measureConsumer(
      '@pinia/colada: useQuery + useMutation + PiniaColada',
      "import { useQuery, useMutation, PiniaColada } from '@pinia/colada'\nconsole.log(useQuery, useMutation, PiniaColada)",
    ),
    await measureConsumer(
      '@tanstack/vue-query: useQuery + useMutation + VueQueryPlugin',
      "import { useQuery, useMutation, VueQueryPlugin } from '@tanstack/vue-query'\nconsole.log(useQuery, useMutation, VueQueryPlugin)",
    ),
  )
  for (const s of sizes) {
    const budget = CONSUMER_BUDGETS[s.name]
    const note = budget ? `budget ${budget} B gzip: ${s.gzip <= budget ? 'within' : 'OVER'} (npm run check:package)` : ''
    add('size', s.name, `${s.min} B min · ${s.gzip} B gzip · ${s.brotli} B br`, note)
  }
}

// Startup in a real Chromium, CPU slowed 4× (and 1×) through CDP, cold loads.
rows.push(...(await benchStartup({ runs: Number(process.env.BENCH_STARTUP_RUNS ?? 15) })))

// The DOM comes from happy-dom. Timers and AbortController stay Node's own: a browser's are native
// too, and happy-dom's JavaScript stand-ins would bill their own cost to whoever uses them most.
const native = { setTimeout, clearTimeout, setInterval, clearInterval, AbortController, AbortSignal }
GlobalRegistrator.register({ url: 'http://localhost/' })
Object.assign(globalThis, native)
const { IAP } = await import('@apps-in-toss/web-framework')
const { createApp, defineComponent, h, nextTick } = await import('vue')
const { createPinia } = await import('pinia')
const lib = await import('../dist/index.js')
const { installTossSimulator } = await import('../dist/testing.js')

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const tick = () => new Promise((r) => setTimeout(r, 0))
const quiet = { recovery: { onInstall: false, onVisible: false }, entitlements: { refreshOnInstall: false }, cache: false }

function mount(setup, options) {
  const root = document.createElement('div')
  const app = createApp(defineComponent({ setup: () => (setup(), () => h('div')) }))
  app.use(createPinia()).use(lib.createTossIap(options))
  app.mount(root)
  return app
}

// 2. Bridge economy
{
  const sim = installTossSimulator()
  const app = mount(() => {}, { grant: () => true, ...quiet })
  app.unmount()
  const many = createApp(
    defineComponent({
      setup: () => () =>
        Array.from({ length: 100 }, (_, i) => h(defineComponent({ setup: () => (lib.useProducts(), () => h('i')) }), { key: i })),
    }),
  )
  many.use(createPinia()).use(lib.createTossIap({ grant: () => true, ...quiet }))
  many.mount(document.createElement('div'))
  await tick()
  add('bridge', '100 components mount useProducts()', `${sim.callsTo('iapGetProductItemList').length} iapGetProductItemList call(s)`)
  many.unmount()

  // Warm cache: readable at mount, one revalidation.
  const cache = { storage: localStorage }
  const first = mount(() => lib.useProducts(), { grant: () => true, ...quiet, cache })
  await tick()
  first.unmount()
  const before = sim.callsTo('iapGetProductItemList').length
  let atMount = -1
  const warm = createApp(
    defineComponent({
      setup: () => () =>
        Array.from({ length: 100 }, (_, i) =>
          h(
            defineComponent({
              setup: () => {
                const { products } = lib.useProducts()
                if (i === 0) atMount = products.value.length
                return () => h('i')
              },
            }),
            { key: i },
          ),
        ),
    }),
  )
  warm.use(createPinia()).use(lib.createTossIap({ grant: () => true, ...quiet, cache }))
  warm.mount(document.createElement('div'))
  await tick()
  add(
    'bridge',
    'warm cache, 100 components',
    `${atMount} products readable at mount · ${sim.callsTo('iapGetProductItemList').length - before} revalidation call(s)`,
  )
  warm.unmount()
  localStorage.clear()
  sim.uninstall()

  const sim2 = installTossSimulator()
  for (let i = 0; i < 50; i++) sim2.addPaidOrder('gem-100')
  let running = 0
  let peak = 0
  const grant = async () => {
    peak = Math.max(peak, ++running)
    await tick()
    running--
    return true
  }
  const recoveryApp = mount(() => {}, { grant, recovery: { onVisible: false }, entitlements: { refreshOnInstall: false }, cache: false })
  const store = recoveryApp.runWithContext(() => lib.useIapStore())
  const report = await store.whenReady()
  add(
    'bridge',
    'recovery of 50 pending orders',
    `${sim2.callsTo('getPendingOrders').length} getPendingOrders · ${report.completed.length} completed · ${sim2.callsTo('completeProductGrant').length} completeProductGrant · peak ${peak} grants at once (concurrency ${lib.DEFAULT_RECOVERY_CONCURRENCY})`,
  )
  recoveryApp.unmount()
  sim2.uninstall()
}

// 3. Leaks: mount → start a purchase → unmount, at each stage of the flow.
{
  const CYCLES = Number(process.env.BENCH_CYCLES ?? 10_000)
  const sim = installTossSimulator()
  const stages = ['sheet up', 'grant running', 'awaiting confirmation']
  // The heap after a settle (the short call timeouts below run out) and a full GC, every 1,000
  // cycles once the first 2,000 have warmed the JIT and the caches: a leak is a steady slope, while
  // V8's own code and caches grow in steps that level off, so one reading against another (how this
  // row was first measured) read those steps as growth.
  const WARM = 2_000
  const samples = [] // [cycle, heapUsed]
  const settle = async () => {
    await new Promise((r) => setTimeout(r, 1500))
    global.gc()
    return process.memoryUsage().heapUsed
  }
  const started = performance.now()
  for (let i = 1; i <= CYCLES; i++) {
    const stage = stages[i % 3]
    let releaseGrant
    const grant = stage === 'grant running' ? () => new Promise((r) => (releaseGrant = r)) : () => true
    if (stage === 'sheet up') sim.nextPurchase('hang')
    if (stage === 'awaiting confirmation') sim.configure({ latency: 1 })
    let purchase
    // A short call timeout, so that what a host may still answer (and what waits for it) settles
    // before each heap measurement below.
    const app = mount(() => (purchase = lib.usePurchase('gem-100')), { grant, ...quiet, timeouts: { call: 1000 } })
    const outcome = purchase.purchase()
    await tick()
    if (stage === 'awaiting confirmation') await new Promise((r) => setTimeout(r, 3))
    app.unmount()
    await outcome
    releaseGrant?.(true)
    sim.configure({ latency: 0 })
    // The host's ledger and call log are the host's memory, not the page's.
    if (i % 500 === 0) ((sim.orders.length = 0), (sim.calls.length = 0))
    if (i >= WARM && i % 1000 === 0) samples.push([i, await settle()])
  }
  const perCycle = (ms) => ((performance.now() - started - ms) / CYCLES).toFixed(2)
  const settling = samples.length * 1500
  // Least squares over the samples: bytes kept per cycle.
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
  const mx = mean(samples.map(([x]) => x))
  const my = mean(samples.map(([, y]) => y))
  const slope = samples.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / samples.reduce((a, [x]) => a + (x - mx) ** 2, 0)
  const growth = samples.at(-1)[1] - samples[0][1]
  add(
    'leaks',
    `${CYCLES} mount → purchase → unmount cycles`,
    `${sim.listenerCount()} listeners · ${sim.openSubscriptions()} open subscriptions left`,
    stages.join(', '),
  )
  add(
    'leaks',
    `heap kept per cycle, cycles ${WARM.toLocaleString('en')} → ${CYCLES.toLocaleString('en')}`,
    `${slope.toFixed(1)} B`,
    `budget < 50 B (one small object a cycle would show): least squares over ${samples.length} heaps after a GC, one per 1,000 cycles; first to last ${(growth / 1024).toFixed(0)} KiB; ${perCycle(settling)} ms per cycle`,
  )
  sim.uninstall()
}

// 4. Per purchase: bridge messages and timers, usePurchase against the raw SDK; memory per order.
{
  const sim = installTossSimulator()
  let timers = 0
  const realSetTimeout = globalThis.setTimeout
  const counting = (...args) => (timers++, realSetTimeout(...args))
  const raw = () =>
    new Promise((resolve, reject) => {
      const cleanup = IAP.createOneTimePurchaseOrder({
        options: { sku: 'gem-100', processProductGrant: () => true },
        onEvent: async (event) => {
          await IAP.completeProductGrant({ params: { orderId: event.data.orderId } })
          cleanup()
          resolve()
        },
        onError: (e) => (cleanup(), reject(e)),
      })
    })
  let purchase
  const app = mount(() => (purchase = lib.usePurchase('gem-100')), { grant: () => true, ...quiet })
  const per = async (run) => {
    sim.calls.length = 0
    timers = 0
    globalThis.setTimeout = counting
    await run()
    globalThis.setTimeout = realSetTimeout
    return { messages: sim.calls.length, timers }
  }
  const rawCost = await per(raw)
  const libCost = await per(async () => {
    const outcome = await purchase.purchase()
    if (outcome.status !== 'completed') throw new Error(`purchase ended ${outcome.status}`)
  })
  add(
    'purchase',
    'bridge messages per purchase',
    `${libCost.messages} (raw SDK: ${rawCost.messages})`,
    'open, grant answer, complete, close',
  )
  add(
    'purchase',
    'timers per purchase',
    `${libCost.timers} (raw SDK: ${rawCost.timers})`,
    'a timeout on every step; the raw count is the simulated host’s own grant window',
  )

  // Memory per order over a long session: the store keeps every order it saw.
  const N = Number(process.env.BENCH_SESSION ?? 20_000)
  sim.orders.length = 0
  global.gc()
  const before = process.memoryUsage().heapUsed
  const t = performance.now()
  for (let i = 0; i < N; i++) {
    await purchase.purchase()
    if (i % 1000 === 999) ((sim.orders.length = 0), (sim.calls.length = 0)) // the host's memory, not the page's
  }
  const elapsed = performance.now() - t
  sim.orders.length = 0
  sim.calls.length = 0
  global.gc()
  const perOrder = (process.memoryUsage().heapUsed - before) / N
  add(
    'purchase',
    `memory per order over a ${N.toLocaleString('en')}-purchase session`,
    `${perOrder.toFixed(0)} B`,
    `${(elapsed / N).toFixed(2)} ms per purchase with an instant host`,
  )
  app.unmount()
  sim.uninstall()
}

// 5. Products painted for a returning visitor: a host that answers in 100 ms; the cache paints at mount.
{
  const sim = installTossSimulator({ latency: 100 })
  const cache = { storage: localStorage }
  const first = mount(() => lib.useProducts(), { grant: () => true, ...quiet, cache })
  await new Promise((r) => setTimeout(r, 150))
  first.unmount()
  let t = performance.now()
  let paintedAt = -1
  const returning = mount(
    () => {
      const { products } = lib.useProducts()
      if (products.value.length > 0) paintedAt = performance.now() - t
    },
    { grant: () => true, ...quiet, cache },
  )
  t = performance.now()
  const list = await IAP.getProductItemList()
  const rawAt = performance.now() - t
  add(
    'products',
    'a returning visitor sees the catalogue after',
    `${paintedAt.toFixed(1)} ms`,
    `raw SDK: ${rawAt.toFixed(1)} ms (${list.products.length} products, host latency 100 ms)`,
  )
  returning.unmount()
  localStorage.clear()
  sim.uninstall()
}

// 6. The server half, in its own process (away from happy-dom's fetch, Request and timers).
{
  const load = os.loadavg()[0].toFixed(1)
  const out = execFileSync('node', ['scripts/bench-server.mjs'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  for (const [section, metric, value, note] of JSON.parse(out.trim().split('\n').at(-1)))
    add(section, metric, value, `${note}; load average ${load} at start`)
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
const machine = `${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.arch()}`
const table = ['| section | metric | value | note |', '|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
console.log(`\n${table}\n\nmachine: ${machine}`)
writeFileSync(
  'BENCHMARKS.md',
  `# Benchmarks\n\nProduced by \`npm run bench\` (\`node --expose-gc scripts/bench.mjs\`) on ${new Date().toISOString().slice(0, 10)}.\n` +
    `Machine: ${machine}.\n\nCounts hold from machine to machine; absolute times are this machine's (2 shared cores: read medians and spreads, not single runs). ` +
    `Sizes: a Vite production build of a tiny app importing the built \`dist\` through the package's exports, minified, NODE_ENV=production, with vue, pinia, @vueuse/*, the SDK and @vue/devtools-api external; ` +
    `every library measured the same way in the same run. Startup: the system Chromium, a cold load per sample (new context, HTTP cache off), CPU slowed through CDP.\n\n${table}\n`,
)
GlobalRegistrator.unregister()
process.exit(0)
