import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'

/**
 * Adapts a `(Request) => Promise<Response>` handler to Node's `http` (and Connect/Express/Vite
 * middleware): `http.createServer(toNodeListener(fulfil))`.
 */
export function toNodeListener(handler: (request: Request) => Promise<Response>) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      const protocol = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'
      const url = new URL(req.url ?? '/', `${protocol}://${req.headers.host ?? 'localhost'}`)
      const headers = new Headers()
      for (const [name, value] of Object.entries(req.headers)) {
        if (value === undefined || name.startsWith(':')) continue
        for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v)
      }
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
      const controller = new AbortController()
      res.on('close', () => controller.abort())
      const request = new Request(url, {
        method: req.method,
        headers,
        signal: controller.signal,
        ...(hasBody && { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' }),
      } as RequestInit)
      const response = await handler(request)
      const body = Buffer.from(await response.arrayBuffer())
      res.statusCode = response.status
      response.headers.forEach((value, name) => {
        if (name !== 'set-cookie') res.setHeader(name, value)
      })
      const cookies = response.headers.getSetCookie()
      if (cookies.length > 0) res.setHeader('set-cookie', cookies)
      res.end(body)
    })().catch((error: unknown) => {
      console.error(`vue-toss-iap/server: the handler failed: ${error instanceof Error ? error.message : String(error)}`)
      if (!res.headersSent) {
        res.statusCode = 500
        res.setHeader('Content-Type', 'application/json; charset=utf-8')
        res.end(JSON.stringify({ error: { code: 'INTERNAL', message: 'the handler failed', retryable: true } }))
      } else res.destroy()
    })
  }
}
