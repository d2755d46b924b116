import express from 'express'
import { toNodeListener } from 'vue-toss-iap/server'
import type { IapHandlers } from './iap.js'

export function createExpressApp(iap: IapHandlers) {
  const app = express()
  // First, before any body parser: the handlers read the body themselves (and cap its size).
  app.all('/iap/fulfil', toNodeListener(iap.fulfil)) // POST and the CORS preflight (OPTIONS)
  app.all('/iap/entitlements', toNodeListener(iap.entitlements)) // GET and OPTIONS
  app.post('/toss/subscriptions', toNodeListener(iap.subscriptions))
  app.get('/healthz', toNodeListener(iap.health))
  // Then your own routes, with their parser.
  app.use(express.json())
  app.post('/api/echo', (req, res) => {
    res.json({ received: req.body })
  })
  return app
}
