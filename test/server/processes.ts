import { spawn, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import { join } from 'node:path'
import { build } from 'esbuild'
import { inject } from 'vitest'

/**
 * Builds the worker script into the run's folder for it (server.setup.ts, which removes it), once
 * per test process (files share a process: isolate: false).
 */
let built: Promise<string> | undefined
export function buildWorker(): Promise<string> {
  return (built ??= bundleWorker())
}

async function bundleWorker(): Promise<string> {
  const outfile = join(inject('workerDir'), `worker-${process.pid}.mjs`)
  await build({
    entryPoints: [join(process.cwd(), 'test/server/fixtures/worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  })
  return outfile
}

export interface Worker {
  port: number
  process: ChildProcess
  /** Orders onGrant ran for, in the order it printed them. */
  grants: string[]
  /** Resolves when the worker prints `HANG <orderId>`. */
  hung: (orderId: string) => Promise<void>
  exited: Promise<void>
}

/** The environment a worker needs: the integration PostgreSQL on `schema`, and the fake Toss API's address and client certificate. */
export function workerEnv(
  pgUrl: string,
  schema: string,
  toss: { baseUrl: string; ca: string; cert: string; key: string },
): Record<string, string> {
  return {
    WORKER_PG_URL: pgUrl,
    WORKER_PG_OPTIONS: `-c search_path=${schema}`,
    WORKER_TOSS_URL: toss.baseUrl,
    WORKER_TOSS_CA: toss.ca,
    WORKER_TOSS_CERT: toss.cert,
    WORKER_TOSS_KEY: toss.key,
  }
}

export function startWorker(script: string, env: Record<string, string>): Promise<Worker> {
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  const grants: string[] = []
  const hangs = new Map<string, () => void>()
  const hung = new Set<string>()
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return new Promise((resolve, reject) => {
    let buffer = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      let newline
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const [word, arg] = buffer.slice(0, newline).split(' ')
        buffer = buffer.slice(newline + 1)
        if (word === 'READY')
          resolve({
            port: Number(arg),
            process: child,
            grants,
            exited,
            hung: (orderId) => (hung.has(orderId) ? Promise.resolve() : new Promise<void>((r) => hangs.set(orderId, r))),
          })
        else if (word === 'GRANT') grants.push(arg!)
        else if (word === 'HANG') {
          hung.add(arg!)
          hangs.get(arg!)?.()
        }
      }
    })
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready`)))
  })
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })

/** POSTs an order the way grantViaEndpoint does; answers the status and body, or the socket error. */
export function postOrder(port: number, orderId: string, user = 'alice'): Promise<{ status: number; body: any } | { error: string }> {
  const body = JSON.stringify({ orderId, sku: '', kind: 'one-time', source: 'purchase' })
  return new Promise((resolve) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/iap/fulfil',
        method: 'POST',
        agent,
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${user}`, 'Content-Length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = ''
        response.on('data', (c) => (text += c))
        response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text) }))
      },
    )
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }))
    request.end(body)
  })
}

/** POSTs a spend the way the page's `useBalance().spend` does (the key in `Idempotency-Key`). */
export function postSpend(
  port: number,
  key: string,
  { user = 'alice', amount = 1, currency = 'gems' }: { user?: string; amount?: number; currency?: string } = {},
): Promise<{ status: number; body: any } | { error: string }> {
  const body = JSON.stringify({ currency, amount, reason: 'test' })
  return new Promise((resolve) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/balance/spend',
        method: 'POST',
        agent,
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Bearer ${user}`,
          'Idempotency-Key': key,
          'Content-Length': Buffer.byteLength(body),
        },
      },
      (response) => {
        let text = ''
        response.on('data', (c) => (text += c))
        response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text) }))
      },
    )
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }))
    request.end(body)
  })
}
