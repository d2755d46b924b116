import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import type { IapHandlers } from './iap.js'

export function createHonoApp(iap: IapHandlers) {
  const app = new Hono()
  // c.req.raw is the web Request: handed over unread.
  app.all('/iap/fulfil', (c) => iap.fulfil(c.req.raw)) // POST and the CORS preflight (OPTIONS)
  app.all('/iap/entitlements', (c) => iap.entitlements(c.req.raw)) // GET and OPTIONS
  app.post('/toss/subscriptions', (c) => iap.subscriptions(c.req.raw))
  app.get('/healthz', (c) => iap.health(c.req.raw))
  app.post('/api/echo', async (c) => c.json({ received: await c.req.json() }))
  return app
}

export function serveHono(iap: IapHandlers, port: number) {
  return serve({ fetch: createHonoApp(iap).fetch, port })
}
