// The mounting examples of docs/server(.ko).md, run as they are: each framework's real server, a
// real PGlite ledger, the fake Toss partner API over mutual TLS, and real HTTP requests.
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExpressApp } from '../../examples/server/express.ts'
import { createFastifyApp } from '../../examples/server/fastify.ts'
import { serveH3 } from '../../examples/server/h3.ts'
import { serveHono } from '../../examples/server/hono.ts'
import { createIapHandlers, type IapHandlers } from '../../examples/server/iap.ts'
import { createGrantLedger, createTossPartnerClient, type ServerEvent, type TossPartnerClient } from '../../src/server/index.ts'
import {
  registrationVerification,
  sendTossWebhook,
  startFakeTossPartnerApi,
  subscriptionStatusChanged,
  type FakeTossPartnerApi,
} from '../../src/testing/server.ts'
import { openPGlite } from './pglite.ts'

const EXAMPLES = ['iap.ts', 'express.ts', 'fastify.ts', 'hono.ts', 'h3.ts', 'observe.ts']
const DOCS = ['docs/server.ko.md', 'docs/server.md']

/** The ```ts block that follows `<!-- include examples/server/<file> -->` in a doc. */
function includedBlock(doc: string, file: string): string | null {
  const text = readFileSync(doc, 'utf8')
  const marker = `<!-- include examples/server/${file} -->`
  const at = text.indexOf(marker)
  if (at < 0) return null
  const open = /```ts\n/.exec(text.slice(at))
  if (!open) return null
  const start = at + open.index + open[0].length
  const end = text.indexOf('\n```\n', start)
  return text.slice(start, end + 1)
}

describe('the docs show the example files verbatim', () => {
  for (const doc of DOCS)
    for (const file of EXAMPLES)
      it(`${doc} includes examples/server/${file}`, () => {
        expect(includedBlock(doc, file), `${doc}: the block after <!-- include examples/server/${file} --> drifted from the file`).toBe(
          readFileSync(`examples/server/${file}`, 'utf8'),
        )
      })
})

interface Running {
  url: string
  close: () => Promise<void>
}

const port = (server: Server) => (server.address() as AddressInfo).port

const frameworks: Array<{ name: string; start: (iap: IapHandlers) => Promise<Running> }> = [
  {
    name: 'Express 5',
    start: async (iap) => {
      const server = createExpressApp(iap).listen(0, '127.0.0.1')
      await once(server, 'listening')
      return { url: `http://127.0.0.1:${port(server)}`, close: () => new Promise((r) => server.close(() => r())) }
    },
  },
  {
    name: 'Fastify 5',
    start: async (iap) => {
      const app = createFastifyApp(iap)
      const url = await app.listen({ port: 0, host: '127.0.0.1' })
      return { url, close: () => app.close() }
    },
  },
  {
    name: 'Hono 4 on @hono/node-server',
    start: async (iap) => {
      const server = serveHono(iap, 0) as Server
      if (!server.listening) await once(server, 'listening')
      return { url: `http://127.0.0.1:${port(server)}`, close: () => new Promise((r) => server.close(() => r())) }
    },
  },
  {
    name: 'h3 2 (Nitro)',
    start: async (iap) => {
      const server = serveH3(iap, 0)
      await server.ready()
      const node = server.node!.server! as Server
      return { url: `http://127.0.0.1:${port(node)}`, close: () => server.close(true) }
    },
  },
]

const APP = 'https://mini-app.example'
const CREDENTIAL = 'bW91bnQ6d2ViaG9vay1zZWNyZXQ='
const sessions: Record<string, { userId: string; userKey: string }> = { 'token-alice': { userId: 'alice', userKey: 'tk-alice' } }

let api: FakeTossPartnerApi
let toss: TossPartnerClient
beforeAll(async () => {
  api = await startFakeTossPartnerApi()
  toss = createTossPartnerClient({ ...api.clientOptions(), retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 100 } })
})
afterAll(async () => {
  toss?.close()
  await api?.close()
})

for (const framework of frameworks) {
  describe(framework.name, () => {
    let running: Running
    let closeDb: () => Promise<void>
    const events: ServerEvent[] = []
    const orderId = `mount-${framework.name.split(' ')[0]!.toLowerCase()}-1`

    beforeAll(async () => {
      const pgl = await openPGlite()
      closeDb = pgl.close
      const ledger = await createGrantLedger(pgl.db)
      const iap = createIapHandlers({
        toss,
        ledger,
        authenticate: (request) => sessions[request.headers.get('Authorization')?.replace(/^Bearer /, '') ?? ''] ?? null,
        origins: [APP],
        products: { 'remove-ads': 'NON_CONSUMABLE' },
        webhookCredential: CREDENTIAL,
        onEvent: (event) => void events.push(event),
      })
      await iap.subscriptions.ready
      running = await framework.start(iap)
      api.setOrder({ orderId, sku: 'remove-ads', status: 'PAYMENT_COMPLETED', userKey: 'tk-alice' })
    })
    afterAll(async () => {
      await running?.close()
      await closeDb?.()
    })

    const fulfil = (body: string) =>
      fetch(`${running.url}/iap/fulfil`, {
        method: 'POST',
        headers: { Origin: APP, Authorization: 'Bearer token-alice', 'Content-Type': 'application/json' },
        body,
      })

    it('answers the CORS preflight for the fulfilment and entitlements endpoints', async () => {
      for (const [path, method] of [
        ['/iap/fulfil', 'POST'],
        ['/iap/entitlements', 'GET'],
      ] as const) {
        const response = await fetch(`${running.url}${path}`, {
          method: 'OPTIONS',
          headers: { Origin: APP, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': 'authorization,content-type' },
        })
        expect(response.status, path).toBe(204)
        expect(response.headers.get('access-control-allow-origin')).toBe(APP)
        expect(response.headers.get('access-control-allow-methods')).toContain(method)
        expect(response.headers.get('access-control-allow-headers')).toMatch(/Authorization/i)
      }
    })

    it('grants a paid order once, answers the repeat from the ledger, and lists it in entitlements', async () => {
      const body = JSON.stringify({ orderId, sku: 'remove-ads', kind: 'one-time', source: 'purchase' })
      const first = await fulfil(body)
      expect(first.status).toBe(200)
      expect(first.headers.get('access-control-allow-origin')).toBe(APP)
      expect(await first.json()).toEqual({ granted: true, orderId, sku: 'remove-ads', repeat: false })
      const again = await fulfil(body)
      expect(await again.json()).toEqual({ granted: true, orderId, sku: 'remove-ads', repeat: true })
      expect(api.requestsFor(orderId)).toBe(1)

      const owned = await fetch(`${running.url}/iap/entitlements`, { headers: { Origin: APP, Authorization: 'Bearer token-alice' } })
      expect(owned.status).toBe(200)
      expect(await owned.json()).toEqual({ entitlements: [{ sku: 'remove-ads', isActive: true, orderId, subscription: null }] })

      await new Promise((r) => setImmediate(r))
      const mine = events.filter((e) => 'orderId' in e && e.orderId === orderId && e.type.startsWith('fulfilment.'))
      expect(mine.map((e) => e.type)).toEqual(['fulfilment.granted', 'fulfilment.repeat'])
    })

    it('answers a body that is not JSON with a JSON error, and a missing session with 401', async () => {
      const bad = await fulfil('{"orderId": ')
      expect(bad.status).toBe(400)
      expect(bad.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await bad.json()).toEqual({ error: { code: 'INVALID_JSON', message: expect.any(String), retryable: false } })
      const anonymous = await fetch(`${running.url}/iap/fulfil`, {
        method: 'POST',
        headers: { Origin: APP, 'Content-Type': 'application/json' },
        body: JSON.stringify({ orderId: 'mount-nobody', sku: 'remove-ads' }),
      })
      expect(anonymous.status).toBe(401)
      expect((await anonymous.json()) as unknown).toMatchObject({ error: { code: 'UNAUTHENTICATED' } })
    })

    it('takes the subscription webhook as Toss posts it, whatever its Content-Type', async () => {
      const url = `${running.url}/toss/subscriptions`
      expect((await sendTossWebhook(url, registrationVerification(), { credential: CREDENTIAL })).status).toBe(204)
      const event = subscriptionStatusChanged({
        orderId,
        sku: 'remove-ads',
        at: new Date('2030-08-01T00:00:00Z'),
        changeReason: 'PURCHASED',
        current: { status: 'ACTIVE', accessGranted: true, autoRenew: true },
      })
      expect(await sendTossWebhook(url, event, { credential: CREDENTIAL })).toEqual({
        status: 200,
        body: { received: true, duplicate: false },
      })
      expect(await sendTossWebhook(url, event, { credential: 'wrong' })).toMatchObject({ status: 401 })
      // Toss's Content-Type is not documented: a text/plain body still reaches the handler.
      const plain = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain', Authorization: `Basic ${CREDENTIAL}` },
        body: JSON.stringify(event),
      })
      expect(plain.status).toBe(200)
      expect(await plain.json()).toEqual({ received: true, duplicate: true })
    })

    it('answers the health check, and its own JSON routes still get their parsed body', async () => {
      const health = await fetch(`${running.url}/healthz`)
      expect(health.status).toBe(200)
      expect(await health.json()).toMatchObject({ status: 'ok', checks: { database: { ok: true }, migrations: { ok: true } } })
      const echo = await fetch(`${running.url}/api/echo`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ hello: 'world' }),
      })
      expect(await echo.json()).toEqual({ received: { hello: 'world' } })
    })
  })
}
