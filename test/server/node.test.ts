import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  createFulfilmentHandler,
  createGrantLedger,
  createTossPartnerClient,
  toNodeListener,
  type AuthenticatedUser,
  type FulfilmentHandler,
  type TossPartnerClient,
} from '../../src/server/index.ts'
import { startFakeTossPartnerApi, type FakeTossPartnerApi } from '../../src/testing/server.ts'
import { openPGlite } from './pglite.ts'

const APP = 'https://mini-app.example'

interface Answer {
  status: number
  headers: IncomingHttpHeaders
  rawHeaders: string[]
  body: string
}

/**
 * One request over a fresh connection. `chunks` are written in turn (chunked transfer encoding
 * unless a Content-Length header is given), then the request ends unless `end` is false. With
 * `leaveMs` the client goes away that long after (resolving `null`), whatever was answered.
 */
function send(
  port: number,
  {
    method = 'GET',
    path = '/',
    headers = {},
    chunks = [],
    end = true,
    leaveMs,
  }: {
    method?: string
    path?: string
    headers?: Record<string, string>
    chunks?: Array<string | Buffer>
    end?: boolean
    leaveMs?: number
  } = {},
): Promise<Answer | null> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false })
    request.on('response', (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (c: string) => (body += c))
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, rawHeaders: response.rawHeaders, body }))
    })
    request.on('error', (error) => (leaveMs === undefined ? reject(error) : resolve(null)))
    for (const chunk of chunks) request.write(chunk)
    if (end) request.end()
    else request.flushHeaders()
    if (leaveMs !== undefined)
      setTimeout(() => {
        request.destroy()
        resolve(null)
      }, leaveMs)
  })
}

async function listen(listener: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
  const server = createServer(listener)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { server, port: (server.address() as AddressInfo).port }
}

describe('toNodeListener with any (Request) => Response handler', () => {
  let server: Server
  let port: number
  const signals: AbortSignal[] = []
  let release: () => void = () => {}

  beforeAll(async () => {
    ;({ server, port } = await listen(
      toNodeListener(async (request) => {
        const path = new URL(request.url).pathname
        if (path === '/cookies') {
          const headers = new Headers({ 'Content-Type': 'text/plain' })
          headers.append('Set-Cookie', 'a=1; Path=/; HttpOnly')
          headers.append('Set-Cookie', 'b=2; Path=/; Expires=Wed, 21 Oct 2099 07:28:00 GMT')
          return new Response('two cookies', { status: 201, headers })
        }
        if (path === '/echo') {
          const bytes = new Uint8Array(await request.arrayBuffer())
          let sum = 0
          for (const b of bytes) sum = (sum + b) % 65521
          return Response.json({ method: request.method, length: bytes.length, sum, type: request.headers.get('content-type') })
        }
        if (path === '/slow') {
          signals.push(request.signal)
          await new Promise<void>((r) => (release = r))
          return new Response('late')
        }
        if (path === '/stream')
          return new Response(
            new ReadableStream({
              start(c) {
                c.enqueue(new TextEncoder().encode('one '))
                c.enqueue(new TextEncoder().encode('two'))
                c.close()
              },
            }),
          )
        if (path === '/empty') return new Response(null, { status: 200 })
        if (path === '/throws') throw new Error('boom')
        signals.push(request.signal)
        return new Response('ok')
      }),
    ))
  })
  afterAll(() => {
    release()
    server.close()
  })

  it('sends each Set-Cookie as its own header line, with the status and Content-Length', async () => {
    const answer = (await send(port, { path: '/cookies' }))!
    expect(answer.status).toBe(201)
    expect(answer.headers['set-cookie']).toEqual(['a=1; Path=/; HttpOnly', 'b=2; Path=/; Expires=Wed, 21 Oct 2099 07:28:00 GMT'])
    expect(answer.rawHeaders.filter((h) => h.toLowerCase() === 'set-cookie')).toHaveLength(2)
    expect(answer.headers['content-length']).toBe('11')
    expect(answer.body).toBe('two cookies')
  })

  it('answers HEAD with the headers and no body', async () => {
    const answer = (await send(port, { method: 'HEAD', path: '/cookies' }))!
    expect(answer.status).toBe(201)
    expect(answer.headers['set-cookie']).toHaveLength(2)
    expect(answer.body).toBe('')
  })

  it('writes a streamed body, and an empty one with Content-Length 0', async () => {
    expect((await send(port, { path: '/stream' }))!.body).toBe('one two')
    const empty = (await send(port, { path: '/empty' }))!
    expect(empty.headers['content-length']).toBe('0')
    expect(empty.body).toBe('')
  })

  it('gives the handler the whole body: small, chunked, and streamed past 64 KiB', async () => {
    const big = Buffer.alloc(200 * 1024, 7)
    for (const chunks of [['{"a":1}'], ['x'.repeat(1000), 'y'.repeat(1000)], [big.subarray(0, 70_000), big.subarray(70_000)]]) {
      const bytes = Buffer.concat(chunks.map((c) => Buffer.from(c)))
      let sum = 0
      for (const b of bytes) sum = (sum + b) % 65521
      const answer = (await send(port, { method: 'POST', path: '/echo', headers: { 'Content-Type': 'text/plain' }, chunks }))!
      expect(JSON.parse(answer.body)).toEqual({ method: 'POST', length: bytes.length, sum, type: 'text/plain' })
    }
  })

  it("aborts the request's signal when the client leaves before the answer, and not after an answer", async () => {
    signals.length = 0
    await send(port, { path: '/done' })
    await new Promise((r) => setTimeout(r, 50))
    expect(signals[0]!.aborted).toBe(false)
    await send(port, { path: '/slow', leaveMs: 50 })
    await vi.waitFor(() => expect(signals[1]?.aborted).toBe(true))
    release()
  })

  it('answers 500 JSON when the handler throws, and keeps serving', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const answer = (await send(port, { path: '/throws' }))!
    expect(answer.status).toBe(500)
    expect(JSON.parse(answer.body)).toEqual({ error: { code: 'INTERNAL', message: 'the handler failed', retryable: true } })
    expect(errors).toHaveBeenCalledOnce()
    errors.mockRestore()
    expect((await send(port, { path: '/done' }))!.body).toBe('ok')
  })
})

describe("toNodeListener with the package's fulfilment handler", () => {
  let api: FakeTossPartnerApi
  let toss: TossPartnerClient
  let close: () => Promise<void>
  let fulfil: FulfilmentHandler
  let fast: { server: Server; port: number }
  let viaResponse: { server: Server; port: number }
  const seen: Array<{ body: string; signal: AbortSignal; isRequest: boolean }> = []
  let hold: Promise<void> | null = null

  beforeAll(async () => {
    api = await startFakeTossPartnerApi()
    toss = createTossPartnerClient({ ...api.clientOptions(), retry: false })
    const pgl = await openPGlite()
    close = pgl.close
    const ledger = await createGrantLedger(pgl.db)
    fulfil = createFulfilmentHandler({
      toss,
      ledger,
      // What an app checking a signature over the body would do: read the Request it is given.
      authenticate: async (request): Promise<AuthenticatedUser | null> => {
        seen.push({ body: await request.clone().text(), signal: request.signal, isRequest: request instanceof Request })
        if (hold) await hold
        return request.headers.get('Authorization') === 'Bearer alice' ? { userId: 'alice', userKey: 'tk-alice' } : null
      },
      cors: { origins: [APP] },
      onError: () => {},
    })
    fast = await listen(toNodeListener(fulfil))
    // The same handler behind a wrapper: toNodeListener then takes the Response it answers.
    viaResponse = await listen(toNodeListener((request) => fulfil(request)))
  })
  afterAll(async () => {
    fast.server.close()
    viaResponse.server.close()
    toss.close()
    await api.close()
    await close()
  })

  const json = { 'Content-Type': 'application/json', Authorization: 'Bearer alice' }

  it('answers exactly as the Response it would build: preflight, HEAD, wrong origin, bad body, unknown user, a grant, a repeat', async () => {
    api.setOrder({ orderId: 'same-1', sku: 'remove-ads', status: 'PAYMENT_COMPLETED', userKey: 'tk-alice' })
    api.setOrder({ orderId: 'same-2', sku: 'remove-ads', status: 'PAYMENT_COMPLETED', userKey: 'tk-alice' })
    const order = (orderId: string) => JSON.stringify({ orderId, sku: 'remove-ads', kind: 'one-time', source: 'purchase' })
    type Case = { method: string; headers?: Record<string, string>; chunks?: string[] }
    const cases = (id: string): Case[] => [
      { method: 'OPTIONS', headers: { Origin: APP, 'Access-Control-Request-Method': 'POST' } },
      { method: 'HEAD', headers: { Origin: APP } },
      { method: 'GET' },
      { method: 'POST', headers: { ...json, Origin: 'https://evil.example' }, chunks: [order(id)] },
      { method: 'POST', headers: { ...json, Origin: APP }, chunks: ['{"orderId":'] },
      { method: 'POST', headers: { 'Content-Type': 'text/plain' }, chunks: [order(id)] },
      { method: 'POST', headers: { ...json, Authorization: 'Bearer mallory' }, chunks: [order(id)] },
      { method: 'POST', headers: { ...json, Origin: APP }, chunks: [order(id)] },
      { method: 'POST', headers: { ...json, Origin: APP }, chunks: [order(id)] },
    ]
    const strip = (a: Answer) => {
      const { date, connection, 'keep-alive': _k, ...headers } = a.headers
      return { status: a.status, headers, body: a.body }
    }
    const fromFast: Array<ReturnType<typeof strip>> = []
    const fromResponse: Array<ReturnType<typeof strip>> = []
    for (const c of cases('same-1')) fromFast.push(strip((await send(fast.port, c))!))
    for (const c of cases('same-2')) fromResponse.push(strip((await send(viaResponse.port, c))!))
    const unify = (answers: typeof fromFast) => JSON.parse(JSON.stringify(answers).replaceAll('same-2', 'same-1'))
    expect(unify(fromResponse)).toEqual(fromFast)
    expect(fromFast.map((a) => a.status)).toEqual([204, 405, 405, 403, 400, 415, 401, 200, 200])
    expect(fromFast[1]!.body).toBe('') // HEAD: no body
    expect(JSON.parse(fromFast[7]!.body)).toEqual({ granted: true, orderId: 'same-1', sku: 'remove-ads', repeat: false })
    expect(JSON.parse(fromFast[8]!.body)).toMatchObject({ repeat: true })
    expect(fromFast[8]!.headers).toMatchObject({ 'access-control-allow-origin': APP, 'cache-control': 'no-store', vary: 'Origin' })
  })

  it('refuses a body over the limit, declared, chunked, and past the 64 KiB read ahead, with 413 JSON', async () => {
    const over = JSON.stringify({ orderId: 'x', pad: 'p'.repeat(20_000) })
    for (const request of [
      { headers: { ...json, 'Content-Length': String(Buffer.byteLength(over)) }, chunks: [over] },
      { headers: json, chunks: [over.slice(0, 10_000), over.slice(10_000)] },
      { headers: json, chunks: [over, 'q'.repeat(60_000), 'r'.repeat(60_000)] },
    ]) {
      const answer = (await send(fast.port, { method: 'POST', ...request }))!
      expect(answer.status).toBe(413)
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'BODY_TOO_LARGE', retryable: false } })
    }
  })

  it('gives authenticate a Request it can read the body of, whose signal aborts when the client leaves', async () => {
    seen.length = 0
    api.setOrder({ orderId: 'auth-1', sku: 'remove-ads', status: 'PAYMENT_COMPLETED', userKey: 'tk-alice' })
    const body = JSON.stringify({ orderId: 'auth-1', sku: 'remove-ads', kind: 'one-time', source: 'purchase' })
    expect((await send(fast.port, { method: 'POST', headers: json, chunks: [body] }))!.status).toBe(200)
    expect(seen[0]).toMatchObject({ body, isRequest: true })
    expect(seen[0]!.signal.aborted).toBe(false)

    let release!: () => void
    hold = new Promise<void>((r) => (release = r))
    void send(fast.port, { method: 'POST', headers: json, chunks: [body], leaveMs: 100 })
    await vi.waitFor(() => expect(seen[1]?.signal.aborted).toBe(true))
    hold = null
    release()
  })

  it('gives authenticate a Request that works as one: its fields, new Request(request), fetch(request), inspect', async () => {
    // An app forwarding the request to its own auth service, as it was given.
    let forwarded: { method: string; url: string; auth: string | undefined; body: string } | undefined
    const auth = await listen((req, res) => {
      let text = ''
      req.on('data', (c: Buffer) => (text += c))
      req.on('end', () => {
        forwarded = { method: req.method!, url: req.url!, auth: req.headers.authorization, body: text }
        res.end(req.headers.authorization === 'Bearer alice' ? 'alice' : '')
      })
    })
    const checks: Record<string, unknown> = {}
    const handler = createFulfilmentHandler({
      toss,
      ledger: await createGrantLedger((await openPGlite()).db),
      authenticate: async (request) => {
        if (request.headers.get('x-mode') === 'forward') {
          // The request itself, to fetch: its method, headers and body go on as they came.
          const who = await (await fetch(new Request(`http://127.0.0.1:${auth.port}/direct`, request))).text()
          return who === 'alice' ? { userId: 'alice', userKey: 'tk-alice' } : null
        }
        checks.isRequest = request instanceof Request
        // Not built by Request's constructor (which gives it undici's state as own symbols): so on
        // Node 20, which CI runs; elsewhere the probe may choose constructed requests.
        checks.light = Object.getOwnPropertySymbols(request).every((symbol) => symbol.description === 'lazy')
        checks.tag = Object.prototype.toString.call(request)
        checks.fields = { url: request.url, method: request.method, type: request.headers.get('content-type') }
        checks.standard = { cache: request.cache, mode: request.mode, redirect: request.redirect, bodyUsed: request.bodyUsed }
        checks.inspected = inspect(request)
        checks.cloned = await request.clone().text()
        const copy = new Request(request)
        checks.copy = { url: copy.url, method: copy.method, auth: copy.headers.get('authorization'), body: await copy.text() }
        checks.usedAfterCopy = request.bodyUsed // as a standard Request: the copy took the body
        return request.headers.get('authorization') === 'Bearer alice' ? { userId: 'alice', userKey: 'tk-alice' } : null
      },
      onError: () => {},
    })
    const served = await listen(toNodeListener(handler))
    try {
      api.setOrder({ orderId: 'fields-1', sku: 'remove-ads', status: 'PAYMENT_COMPLETED', userKey: 'tk-alice' })
      const body = JSON.stringify({ orderId: 'fields-1', sku: 'remove-ads', kind: 'one-time', source: 'purchase' })
      // Its URL is spelled as Request's would be: without the dot segments.
      const path = '/app/../fulfil?x=1'
      const answer = (await send(served.port, { method: 'POST', path, headers: json, chunks: [body] }))!
      expect(answer.status).toBe(200)
      expect(checks).toMatchObject({
        isRequest: true,
        light: true,
        tag: '[object Request]',
        fields: { url: `http://127.0.0.1:${served.port}/fulfil?x=1`, method: 'POST', type: 'application/json' },
        standard: { cache: 'default', mode: 'cors', redirect: 'follow', bodyUsed: false },
        cloned: body,
        copy: { url: `http://127.0.0.1:${served.port}/fulfil?x=1`, method: 'POST', auth: 'Bearer alice', body },
        usedAfterCopy: true,
      })
      expect(checks.inspected).toContain('/fulfil?x=1')

      // (With a length: a chunked request's Transfer-Encoding is not for fetch to send on.)
      const forward = (await send(served.port, {
        method: 'POST',
        headers: { ...json, 'x-mode': 'forward', 'Content-Length': String(Buffer.byteLength(body)) },
        chunks: [body],
      }))!
      expect(forward.status).toBe(200)
      expect(JSON.parse(forward.body)).toMatchObject({ granted: true, repeat: true })
      expect(forwarded).toEqual({ method: 'POST', url: '/direct', auth: 'Bearer alice', body })
    } finally {
      served.server.close()
      auth.server.close()
    }
  })

  it('answers 400, never waits, when something read the body before it (a body parser mounted first)', async () => {
    const listener = toNodeListener(fulfil)
    const parsedFirst = await listen((req, res) => {
      req.resume()
      req.on('end', () => listener(req, res))
    })
    const body = JSON.stringify({ orderId: 'parsed-1', sku: 'remove-ads', kind: 'one-time', source: 'purchase' })
    const answer = (await send(parsedFirst.port, { method: 'POST', headers: json, chunks: [body] }))!
    expect(answer.status).toBe(400)
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'INVALID_JSON' } })
    parsedFirst.server.close()
  })

  it('never runs the handler for a client that leaves before its body is complete, and keeps serving', async () => {
    seen.length = 0
    const body = JSON.stringify({ orderId: 'gone-1', sku: 'remove-ads', kind: 'one-time', source: 'purchase' })
    await send(fast.port, {
      method: 'POST',
      headers: { ...json, 'Content-Length': String(body.length + 10) },
      chunks: [body],
      end: false,
      leaveMs: 50,
    })
    await new Promise((r) => setTimeout(r, 100))
    expect(seen).toHaveLength(0)
    expect(api.requestsFor('gone-1')).toBe(0)
    expect((await send(fast.port, { method: 'GET' }))!.status).toBe(405)
  })
})
