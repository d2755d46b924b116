// @vitest-environment node
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { grantViaEndpoint } from '../src'

// A real HTTP endpoint on loopback, so the request is what a server would receive.
let server: Server
let base = ''
const received: Array<{ method?: string; url?: string; headers: Record<string, unknown>; body: unknown }> = []
let status = 200
/** What the endpoint answers: a body and its type, or a redirect. */
let reply: { body?: string; type?: string; location?: string } = {}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body: JSON.parse(body || 'null') })
      if (req.url === '/login') {
        res.statusCode = 200
        res.setHeader('Content-Type', 'text/html')
        return res.end('<form>log in</form>')
      }
      res.statusCode = status
      if (reply.location) res.setHeader('Location', reply.location)
      if (reply.type) res.setHeader('Content-Type', reply.type)
      res.end(reply.body ?? '')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

describe('grantViaEndpoint', () => {
  const order = { orderId: 'o-1', sku: 'gem-100', kind: 'one-time', source: 'purchase' } as const

  beforeEach(() => {
    status = 200
    reply = {}
  })

  it('POSTs the order as JSON and answers true for a 2xx', async () => {
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

  it.each([301, 302, 303, 307, 308])('never counts a %i redirect as a grant, even to a 200 login page', async (code) => {
    status = code
    reply = { location: `${base}/login` }
    expect(await grantViaEndpoint(`${base}/api/iap/fulfill`)(order)).toBe(false)
    expect(received.filter((r) => r.url === '/login')).toHaveLength(0) // not followed
  })

  it('answers false for a 2xx whose JSON body says granted: false (or ok: false), true for granted: true', async () => {
    const grant = grantViaEndpoint(`${base}/api/iap/fulfill`)
    reply = { type: 'application/json', body: JSON.stringify({ granted: false, reason: 'ORDER_IN_PROGRESS' }) }
    expect(await grant(order)).toBe(false)
    reply = { type: 'application/json', body: JSON.stringify({ ok: false }) }
    expect(await grant(order)).toBe(false)
    reply = { type: 'application/json', body: '{"granted": tr' }
    expect(await grant(order)).toBe(false)
    reply = { type: 'application/json', body: JSON.stringify({ granted: true, orderId: 'o-1' }) }
    expect(await grant(order)).toBe(true)
  })

  it('computes headers for each request (a fresh token each time)', async () => {
    let n = 0
    const grant = grantViaEndpoint(`${base}/api/iap/fulfill`, { headers: async () => ({ Authorization: `Bearer token-${++n}` }) })
    await grant(order)
    await grant(order)
    expect(received.slice(-2).map((r) => r.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2'])
    expect(received.at(-1)!.headers['content-type']).toBe('application/json')
  })

  it('sends credentials to a cross-origin server by default, and never follows a redirect', async () => {
    const inits: RequestInit[] = []
    const spy: typeof fetch = async (_url, init) => (inits.push(init!), new Response(null, { status: 204 }))
    expect(await grantViaEndpoint('https://api.example.com/iap/fulfil', { fetch: spy })(order)).toBe(true)
    expect(await grantViaEndpoint('https://api.example.com/iap/fulfil', { fetch: spy, credentials: 'omit' })(order)).toBe(true)
    expect(inits.map((i) => [i.credentials, i.redirect, i.method])).toEqual([
      ['include', 'manual', 'POST'],
      ['omit', 'manual', 'POST'],
    ])
  })

  it('answers false when a fetch that follows redirects anyway reports it did', async () => {
    const followed = Object.assign(new Response('<html>login</html>', { status: 200 }), {})
    Object.defineProperty(followed, 'redirected', { value: true })
    expect(await grantViaEndpoint('https://api.example.com/iap/fulfil', { fetch: async () => followed })(order)).toBe(false)
  })
})
