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
 * own header line. The package's own handlers are answered without building a `Response`.
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

/**
 * What a `NodeRequest` makes only when asked: its signal, and the full `Request` with the body
 * (for `text()`, `json()`, `body`, `clone()` and the rest).
 */
interface Lazy {
  bytes: Buffer | null
  full?: Request
  controller?: AbortController
  gone: boolean
}
const LAZY = Symbol('lazy')

/**
 * A real `Request` (its URL, method and headers are the `Request`'s own) whose body and signal are
 * made when first read: the package's handlers read the body from the bytes already in memory, and
 * seldom anyone asks for the signal, so most requests never pay for a web stream or an abort signal.
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

function fullOf(request: NodeRequest): Request {
  const lazy = request[LAZY]
  return (lazy.full ??= new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body: lazy.bytes as BodyInit | null,
    signal: signalOf(request),
  }))
}

Object.defineProperties(NodeRequest.prototype, {
  signal: {
    get(this: NodeRequest) {
      return signalOf(this)
    },
  },
  body: {
    get(this: NodeRequest) {
      return this[LAZY].bytes === null ? null : fullOf(this).body
    },
  },
  bodyUsed: {
    get(this: NodeRequest) {
      return this[LAZY].full?.bodyUsed ?? false
    },
  },
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
        },
      ]),
  ),
})

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
      const request = new NodeRequest(url, { method: req.method, headers })
      const lazy: Lazy = { bytes: body, gone: false }
      request[LAZY] = lazy
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
