import { H3, readBody, serve } from 'h3'
import type { IapHandlers } from './iap.js'

export function createH3App(iap: IapHandlers) {
  // event.req is the web Request (h3 2): handed over unread.
  return new H3()
    .all('/iap/fulfil', (event) => iap.fulfil(event.req)) // POST and the CORS preflight (OPTIONS)
    .all('/iap/entitlements', (event) => iap.entitlements(event.req)) // GET and OPTIONS
    .post('/toss/subscriptions', (event) => iap.subscriptions(event.req))
    .get('/healthz', (event) => iap.health(event.req))
    .post('/api/echo', async (event) => ({ received: await readBody(event) }))
}

export function serveH3(iap: IapHandlers, port: number) {
  return serve(createH3App(iap), { port })
}
