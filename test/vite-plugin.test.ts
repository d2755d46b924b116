// @vitest-environment node
import { build, createServer, type Rolldown } from 'vite'
import { describe, expect, it } from 'vitest'
import { devFulfilment } from '../src/vite'
import { tinyAppConfig } from './fixtures/vite-app/config'
import { viteCacheDir } from './vite-cache'

// vue-toss-iap/vite: the simulated host in `vite dev`, nothing of it in `vite build`.

describe('vue-toss-iap/vite', () => {
  it('vite dev puts the host into the page before the app; vite build of the same app contains none of it', async () => {
    const server = await createServer({ ...tinyAppConfig(), cacheDir: viteCacheDir('unit-tiny-app'), server: { middlewareMode: true } })
    const html = await server.transformIndexHtml(
      '/index.html',
      '<html><head></head><body><script type="module" src="/main.ts"></script></body></html>',
    )
    await server.close()
    expect(html.indexOf('virtual:vue-toss-iap/dev-host')).toBeGreaterThan(-1)
    expect(html.indexOf('virtual:vue-toss-iap/dev-host')).toBeLessThan(html.indexOf('/main.ts'))

    const saved = process.env.NODE_ENV
    process.env.NODE_ENV = 'production'
    const result = (await build({ ...tinyAppConfig(), build: { write: false } }).finally(
      () => (process.env.NODE_ENV = saved),
    )) as Rolldown.RolldownOutput
    const shipped = result.output.map((o) => (o.type === 'chunk' ? o.code : String(o.source))).join('\n')
    expect(shipped).toContain('/api/iap/fulfill') // the app is there
    expect(shipped).not.toMatch(
      /dev-host|installDevHost|Toss host \(simulated\)|installTossSimulator needs a window|__GRANITE_NATIVE_EMITTER = /,
    )
  }, 60_000)

  it('the default endpoints grant once per orderId and list the grants as entitlements', async () => {
    const endpoints = devFulfilment()
    const post = (body: unknown) =>
      endpoints['/api/iap/fulfill']!(new Request('http://x/api/iap/fulfill', { method: 'POST', body: JSON.stringify(body) }))
    expect((await post({ orderId: 'o1', sku: 'remove-ads' })).status).toBe(200)
    expect(await (await post({ orderId: 'o1', sku: 'remove-ads' })).json()).toEqual({ ok: true, granted: true })
    expect((await post({ sku: 'remove-ads' })).status).toBe(400)
    const owned = await (await endpoints['/api/iap/entitlements']!(new Request('http://x/api/iap/entitlements'))).json()
    expect(owned).toEqual([{ sku: 'remove-ads', isActive: true, orderId: 'o1' }])
  })
})
