import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { answerCoreOf, setReadBody, withHeaders, type Answer, type AnswerCore } from './http.js'

/** Bodies up to this size are read into memory before the handler runs; larger ones are streamed to it. */
const BUFFERED_BODY_BYTES = 64 * 1024

type Handler = (request: Request) => Promise<Response>
type Body = Buffer | ReadableStream<Uint8Array> | null

/**
 * Adapts a `(Request) => Promise<Response>` handler to Node's `http` (and Connect/Express/Vite
 * middleware): `http.createServer(toNodeListener(fulfil))`.
 *
 * The handler gets a standard `Request`: its body is the request's bytes (read first when up to
 * 64 KiB, streamed when larger), its `signal` aborts when the client goes away before the answer
 * is sent. The answer is written in one go with its `Content-Length`; each `Set-Cookie` stays its
 * own header line. The package's own handlers are answered without building a `Response`, and get
 * (as their `authenticate` does) a `Request` whose standard parts are made only when read (see
 * `NodeRequest`); it is `instanceof Request` and works with `new Request(request)` and `fetch`.
 */
export function toNodeListener(handler: Handler) {
  const core = answerCoreOf(handler)
  return (req: IncomingMessage, res: ServerResponse): void => {
    const method = req.method ?? 'GET'
    if (method === 'GET' || method === 'HEAD') return void respond(handler, core, req, res, null)
    // Read already (a body parser mounted first): the handler sees an empty body, never a wait.
    if (req.readableEnded) return void respond(handler, core, req, res, Buffer.alloc(0))
    if (Number(req.headers['content-length']) > BUFFERED_BODY_BYTES) return void respond(handler, core, req, res, streamOf(req, []))
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      size += chunk.length
      if (size > BUFFERED_BODY_BYTES) {
        done()
        void respond(handler, core, req, res, streamOf(req, chunks))
      }
    }
    const onEnd = () => {
      done()
      void respond(handler, core, req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
    }
    // The client left before its body was complete: nobody is there to answer.
    const onGone = () => {
      done()
      res.destroy()
    }
    const done = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onGone)
      req.off('close', onGone)
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onGone)
    req.on('close', onGone)
  }
}

/** The rest of a large body as a web stream: the chunks already read, then the socket's. */
function streamOf(req: IncomingMessage, head: Buffer[]): ReadableStream<Uint8Array> {
  req.pause()
  return Readable.toWeb(
    Readable.from(
      (async function* () {
        yield* head
        // Leaving this loop early (the handler cancelled the stream) destroys the request.
        for await (const chunk of req) yield chunk as Buffer
      })(),
      { objectMode: false },
    ),
  ) as ReadableStream<Uint8Array>
}

/** What a `NodeRequest` holds, and what it makes only when asked. */
interface Lazy {
  url: string
  method: string
  /** The request's headers as read from Node; a `Headers` of them is made on first read. */
  given: Headers | Record<string, string>
  headers?: Headers
  bytes: Buffer | null
  /** The standard `Request` with the body, made for `text()`, `json()`, `body`, `clone()` and the rest. */
  full?: Request
  controller?: AbortController
  gone: boolean
}
const LAZY = Symbol('lazy')

/**
 * The `Request` the package's own handlers (and the app's `authenticate`) get. Where the runtime
 * allows it (`lightRequests()`), it is not built by `Request`'s constructor, which costs about 10 µs
 * and an abort signal per request, a tenth of an entitlements answer: its URL, method and headers
 * are read from what Node parsed, and everything else (the body as a stream, `cache`, `mode`, …,
 * `new Request(request)`, `fetch(request)`) from a standard `Request` made the first time it is
 * needed. It is still `instanceof Request`. Otherwise it is a `Request` constructed as usual, with
 * the same lazy body and signal.
 */
class NodeRequest extends Request {
  declare [LAZY]: Lazy
}

function signalOf(request: NodeRequest): AbortSignal {
  const lazy = request[LAZY]
  if (!lazy.controller) {
    lazy.controller = new AbortController()
    if (lazy.gone) lazy.controller.abort()
  }
  return lazy.controller.signal
}

function headersOfRequest(request: NodeRequest): Headers {
  const lazy = request[LAZY]
  return (lazy.headers ??= lazy.given instanceof Headers ? lazy.given : new Headers(lazy.given))
}

function fullOf(request: NodeRequest): Request {
  const lazy = request[LAZY]
  return (lazy.full ??= new Request(lazy.url, {
    method: lazy.method,
    headers: headersOfRequest(request),
    body: lazy.bytes as BodyInit | null,
    signal: signalOf(request),
  }))
}

const accessor = (get: (request: NodeRequest) => unknown): PropertyDescriptor => ({
  get(this: NodeRequest) {
    return get(this)
  },
  configurable: true,
})

Object.defineProperties(NodeRequest.prototype, {
  url: accessor((r) => r[LAZY].url),
  method: accessor((r) => r[LAZY].method),
  headers: accessor(headersOfRequest),
  signal: accessor(signalOf),
  body: accessor((r) => (r[LAZY].bytes === null ? null : fullOf(r).body)),
  bodyUsed: accessor((r) => r[LAZY].full?.bodyUsed ?? false),
  // The rest of Request's accessors, from the standard one.
  ...Object.fromEntries(
    Object.entries(Object.getOwnPropertyDescriptors(Request.prototype))
      .filter(([name, d]) => d.get && !['url', 'method', 'headers', 'signal', 'body', 'bodyUsed'].includes(name))
      .map(([name]) => [name, accessor((r) => (fullOf(r) as unknown as Record<string, unknown>)[name])]),
  ),
  ...Object.fromEntries(
    ['arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text', 'clone']
      .filter((name) => name in Request.prototype)
      .map((name) => [
        name,
        {
          value(this: NodeRequest) {
            const full = fullOf(this) as unknown as Record<string, () => unknown>
            return full[name]!()
          },
          configurable: true,
        },
      ]),
  ),
  [Symbol.for('nodejs.util.inspect.custom')]: {
    value(this: NodeRequest, depth: number, options: object, inspect: (value: unknown, options: object) => string) {
      return inspect(fullOf(this), options)
    },
    configurable: true,
  },
})

/**
 * The runtime's `Request` keeps its state under symbols (undici in Node 20; other versions are
 * checked, not assumed): a light request answers them from its standard `Request`, so that
 * `new Request(request)` and `fetch(request)` read it as one. A runtime that keeps the state
 * elsewhere fails the check below and gets requests constructed as usual.
 */
for (const symbol of Object.getOwnPropertySymbols(new Request('http://localhost/')))
  Object.defineProperty(
    NodeRequest.prototype,
    symbol,
    accessor((r) => (fullOf(r) as unknown as Record<symbol, unknown>)[symbol]),
  )

function lightRequest(lazy: Lazy): NodeRequest {
  const request = Object.create(NodeRequest.prototype) as NodeRequest
  request[LAZY] = lazy
  return request
}

let light: boolean | undefined
/** Whether light requests behave as `Request`s here: checked once, on a probe. */
function lightRequests(): boolean {
  if (light !== undefined) return light
  try {
    const probe = lightRequest({
      url: 'http://localhost/probe?x=1',
      method: 'POST',
      given: { 'x-probe': 'yes' },
      bytes: Buffer.from('{}'),
      gone: false,
    })
    const copy = new Request(probe)
    light =
      probe instanceof Request &&
      copy.url === 'http://localhost/probe?x=1' &&
      copy.method === 'POST' &&
      copy.headers.get('x-probe') === 'yes' &&
      copy.body !== null &&
      probe.cache === 'default'
  } catch {
    light = false
  }
  return light
}

function newRequest(lazy: Lazy): NodeRequest {
  if (lightRequests()) return lightRequest(lazy)
  const request = new NodeRequest(lazy.url, { method: lazy.method, headers: lazy.given })
  request[LAZY] = lazy
  return request
}

function headersOf(req: IncomingMessage): Headers | Record<string, string> {
  const given = req.headers
  const plain: Record<string, string> = {}
  for (const name in given) {
    const value = given[name]
    if (value === undefined || name.charCodeAt(0) === 58 /* ':' (HTTP/2 pseudo-headers) */) continue
    if (typeof value !== 'string') {
      // Repeated lines Node keeps apart (set-cookie): each its own value.
      const headers = new Headers()
      for (const n in given) {
        const v = given[n]
        if (v === undefined || n.charCodeAt(0) === 58) continue
        for (const one of typeof v === 'string' ? [v] : v) headers.append(n, one)
      }
      return headers
    }
    plain[name] = value
  }
  return plain
}

function urlOf(req: IncomingMessage): string {
  const base = `${(req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`
  const path = req.url ?? '/'
  return path.charCodeAt(0) === 47 /* '/' */ ? base + path : new URL(path, base).href
}

async function respond(handler: Handler, core: AnswerCore | undefined, req: IncomingMessage, res: ServerResponse, body: Body) {
  try {
    const url = urlOf(req)
    const headers = headersOf(req)
    if (core && !(body instanceof ReadableStream)) {
      // (The URL as `Request` would spell it: `new URL` throws here, as its constructor would.)
      const lazy: Lazy = { url: new URL(url).href, method: req.method ?? 'GET', given: headers, bytes: body, gone: false }
      const request = newRequest(lazy)
      if (body !== null) setReadBody(request, body)
      res.once('close', () => {
        if (res.writableFinished) return
        lazy.gone = true
        lazy.controller?.abort()
      })
      writeAnswer(res, await core(request))
      return
    }
    const controller = new AbortController()
    res.once('close', () => {
      if (!res.writableFinished) controller.abort()
    })
    const request = new Request(url, {
      method: req.method,
      headers,
      signal: controller.signal,
      ...(body !== null && { body, duplex: 'half' }),
    } as RequestInit)
    if (body instanceof Buffer) setReadBody(request, body)
    await send(await handler(request), res)
  } catch (error) {
    console.error(`vue-toss-iap/server: the handler failed: ${error instanceof Error ? error.message : String(error)}`)
    if (!res.headersSent) {
      writeAnswer(res, {
        status: 500,
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ error: { code: 'INTERNAL', message: 'the handler failed', retryable: true } }),
      })
    } else res.destroy()
  }
}

function writeAnswer(res: ServerResponse, answer: Answer) {
  if (answer.body === null) {
    res.writeHead(answer.status, answer.headers)
    res.end()
  } else {
    const headers = withHeaders(answer.headers)
    headers['Content-Length'] = String(Buffer.byteLength(answer.body))
    res.writeHead(answer.status, headers)
    res.end(answer.body)
  }
}

async function send(response: Response, res: ServerResponse) {
  const body = response.body === null ? null : Buffer.from(await response.arrayBuffer())
  const head: OutgoingHttpHeaders = {}
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') head[name] = value
  })
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) head['set-cookie'] = cookies
  const status = response.status
  if (body === null || status === 204 || status === 304) {
    if (status !== 204 && status !== 304) head['content-length'] ??= 0
    res.writeHead(status, head)
    res.end()
    return
  }
  head['content-length'] ??= body.length
  res.writeHead(status, head)
  res.end(body)
}
