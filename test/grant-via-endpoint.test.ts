// @vitest-environment node
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { grantViaEndpoint } from '../src'

// A real HTTP endpoint on loopback, so the request is what a server would receive.
let server: Server
let base = ''
const received: Array<{ method?: string; url?: string; headers: Record<string, unknown>; body: unknown }> = []
let status = 200

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body: JSON.parse(body || 'null') })
      res.statusCode = status
      res.end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

describe('grantViaEndpoint', () => {
  const order = { orderId: 'o-1', sku: 'gem-100', kind: 'one-time', source: 'purchase' } as const

  it('POSTs the order as JSON and answers true for a 2xx', async () => {
    status = 200
    const grant = grantViaEndpoint(`${base}/api/iap/fulfill`, { headers: { 'X-User': 'u1' } })
    expect(await grant(order)).toBe(true)
    expect(received.at(-1)).toMatchObject({
      method: 'POST',
      url: '/api/iap/fulfill',
      headers: { 'content-type': 'application/json', 'x-user': 'u1' },
      body: order,
    })
  })

  it('answers false for an error status', async () => {
    status = 500
    expect(await grantViaEndpoint(`${base}/api/iap/fulfill`)(order)).toBe(false)
  })

  it('rejects when the server cannot be reached (the grant wrapper turns that into GRANT_FAILED)', async () => {
    await expect(grantViaEndpoint('http://127.0.0.1:1/nope')(order)).rejects.toThrow()
  })
})
