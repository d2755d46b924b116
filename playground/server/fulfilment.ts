import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import type { Connect, Plugin } from 'vite'

/**
 * The playground's "app server": `POST /api/iap/fulfill` grants idempotently on `orderId` and keeps
 * its ledger on disk, so a reload (or a killed app) never grants twice. A switch makes it fail, to
 * show orders waiting for recovery.
 *
 * A real server would also confirm the order with Toss's order-status API before granting (see the
 * README); the playground has no Toss to ask.
 */
export interface GrantRow {
  orderId: string
  sku: string
  kind: string
  subscriptionId?: string
  source: string
  grantedAt: string
  /** How many requests asked for this order (more than one is fine: only the first grants). */
  requests: number
}

interface Ledger {
  grants: Record<string, GrantRow>
  failing: boolean
}

export function createLedger(dataDir: string) {
  const file = join(dataDir, 'ledger.json')
  const read = (): Ledger => {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Ledger
    } catch {
      return { grants: {}, failing: false }
    }
  }
  const write = (ledger: Ledger) => {
    mkdirSync(dataDir, { recursive: true })
    writeFileSync(`${file}.tmp`, JSON.stringify(ledger, null, 2))
    renameSync(`${file}.tmp`, file) // atomic: a crash never leaves half a ledger
  }
  return { read, write }
}

function body(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let text = ''
    req.on('data', (chunk) => (text += chunk))
    req.on('end', () => {
      try {
        resolve(text ? JSON.parse(text) : null)
      } catch (error) {
        reject(error)
      }
    })
    req.on('error', reject)
  })
}

const json = (res: ServerResponse, status: number, value: unknown) => {
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json')
  res.end(JSON.stringify(value))
}

export function fulfilmentHandler(dataDir: string): Connect.NextHandleFunction {
  const ledger = createLedger(dataDir)
  return (req, res, next) => {
    const url = req.url?.split('?')[0]
    if (!url?.startsWith('/api/iap/')) return next()
    void (async () => {
      if (req.method === 'POST' && url === '/api/iap/fulfill') {
        const order = (await body(req).catch(() => null)) as Partial<GrantRow> | null
        if (!order || typeof order.orderId !== 'string' || !order.orderId)
          return json(res, 400, { ok: false, error: 'orderId is required' })
        const state = ledger.read()
        if (state.failing) return json(res, 503, { ok: false, error: 'the fulfilment server is switched to fail' })
        const existing = state.grants[order.orderId]
        // Idempotent on orderId: a repeat request succeeds without granting again.
        state.grants[order.orderId] = existing
          ? { ...existing, requests: existing.requests + 1 }
          : {
              orderId: order.orderId,
              sku: String(order.sku ?? ''),
              kind: String(order.kind ?? 'one-time'),
              ...(typeof order.subscriptionId === 'string' && { subscriptionId: order.subscriptionId }),
              source: String(order.source ?? ''),
              grantedAt: new Date().toISOString(),
              requests: 1,
            }
        ledger.write(state)
        return json(res, 200, { ok: true, granted: !existing })
      }
      if (req.method === 'GET' && url === '/api/iap/ledger') return json(res, 200, ledger.read())
      if (req.method === 'POST' && url === '/api/iap/failing') {
        const { failing } = ((await body(req).catch(() => null)) ?? {}) as { failing?: unknown }
        const state = ledger.read()
        state.failing = failing === true
        ledger.write(state)
        return json(res, 200, state)
      }
      if (req.method === 'POST' && url === '/api/iap/reset') {
        ledger.write({ grants: {}, failing: false })
        return json(res, 200, { ok: true })
      }
      json(res, 404, { ok: false })
    })().catch((error: unknown) => json(res, 500, { ok: false, error: String(error) }))
  }
}

export function fulfilmentEndpoint({ dataDir }: { dataDir: string }): Plugin {
  return {
    name: 'vue-toss-iap:fulfilment-endpoint',
    configureServer: (server) => void server.middlewares.use(fulfilmentHandler(dataDir)),
    configurePreviewServer: (server) => void server.middlewares.use(fulfilmentHandler(dataDir)),
  }
}
