import { readFileSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { PGlite as PGliteClass } from '@electric-sql/pglite'
import type { IapProduct } from '../core/types.js'
import type { CreditTable } from '../server/balance.js'
import { createTossMirror } from '../testing/tossMirror.js'

/**
 * What the default server half needs beyond the package itself: PGlite for its ledger, selfsigned
 * for the fake Toss's mutual-TLS certificates. Optional peers (a production server that uses `pg`
 * never needs either), so an app installs them as devDependencies. Loaded through this table so
 * that a test can make one missing; a failed import is not cached by Node, so once the developer
 * installs the package the next request finds it, without restarting `vite dev`.
 */
export const devPeers: Record<'@electric-sql/pglite' | 'selfsigned', () => Promise<unknown>> = {
  '@electric-sql/pglite': orByFile('@electric-sql/pglite', () => import('@electric-sql/pglite')),
  selfsigned: orByFile('selfsigned', () => import('selfsigned')),
}

/**
 * Node (20 at least) remembers a scoped package it once failed to find (`@electric-sql/pglite`) and
 * fails the same import again after it is installed. So when the import fails, the package is
 * looked for in the node_modules folders above this file, and its ESM entry imported by its path.
 */
function orByFile(name: string, load: () => Promise<unknown>): () => Promise<unknown> {
  return () =>
    load().catch(async (error: unknown) => {
      let dir = dirname(fileURLToPath(import.meta.url))
      for (;;) {
        const root = join(dir, 'node_modules', name)
        const pkg = await readFile(join(root, 'package.json'), 'utf8').then(
          (text) => JSON.parse(text) as { exports?: unknown; module?: string; main?: string },
          () => undefined,
        )
        if (pkg) return import(pathToFileURL(join(root, esmEntry(pkg))).href)
        if (dirname(dir) === dir) throw error
        dir = dirname(dir)
      }
    })
}

/** The file `import` loads for a package's root: `exports['.'].import` (or its `default`), else `module`, `main`. */
function esmEntry(pkg: { exports?: unknown; module?: string; main?: string }): string {
  const pick = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value
    if (!value || typeof value !== 'object') return undefined
    const v = value as Record<string, unknown>
    return pick(v['.']) ?? pick(v.import) ?? pick(v.default) ?? pick(v.node)
  }
  return pick(pkg.exports) ?? pkg.module ?? pkg.main ?? 'index.js'
}

/** The command that installs what is missing. */
export const installCommand = (missing: string[]) => `npm install -D ${missing.join(' ')}`

/** Thrown (and answered as JSON) while a package the server half needs is not installed. */
export class MissingDevPackages extends Error {
  constructor(readonly missing: string[]) {
    super(
      `vue-toss-iap/vite: the dev server's fulfilment endpoints need ${missing.join(' and ')}. ` +
        `Run \`${installCommand(missing)}\`; the next request picks ${missing.length > 1 ? 'them' : 'it'} up, no restart needed.`,
    )
    this.name = 'MissingDevPackages'
  }
}

const notFound = (error: unknown, name: string) => {
  const e = error as { code?: unknown; message?: unknown }
  return (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') && String(e.message).includes(name)
}

/** The dev peers that cannot be imported now (any other import error is thrown as it is). */
export async function missingDevPeers(): Promise<string[]> {
  const missing: string[] = []
  for (const [name, load] of Object.entries(devPeers))
    await load().catch((error: unknown) => {
      if (!notFound(error, name)) throw error
      missing.push(name)
    })
  return missing
}

/** An endpoint of the dev server: a Fetch handler. */
export type DevEndpointHandler = (request: Request) => Response | Promise<Response>

/** The user of `vite dev` requests without a session (an app without login); the fake Toss accepts this key for every order. */
const DEV_USER = { userId: 'dev-user', userKey: 'dev-user-key' }
/** What the dev server credits by default: the default catalogue's consumable. */
export const DEFAULT_CREDITS: CreditTable = { 'gem-100': { gems: 100 } }
/** What the dev server's unlink endpoint takes as Toss's `Authorization` (`Basic dev-unlink`). */
export const DEV_UNLINK_CREDENTIAL = 'Basic dev-unlink'
/** Where the page mirrors its simulated Toss ledger, as the real Toss knows every order it took payment for. */
export const MIRROR_PATH = '/__vue-toss-iap/toss-orders'

/**
 * The server half in `vite dev`: `vue-toss-iap/server`'s fulfilment, entitlement and Toss login
 * (login, logout, unlink) handlers on an in-memory PGlite, verifying each order with a fake Toss partner API (real mutual TLS on
 * 127.0.0.1) that answers from the page's mirrored ledger. Started on the first request; needs the
 * optional peers `@electric-sql/pglite` and `selfsigned` (see `devPeers`).
 * `cacheDir` (Vite's, once the config is resolved) keeps an empty database to start from.
 */
export function serverHalfEndpoints(
  products: IapProduct[],
  cacheDir: () => string | undefined,
  credits: CreditTable = DEFAULT_CREDITS,
): { endpoints: Record<string, DevEndpointHandler>; close: () => Promise<void> } {
  const mirror = createTossMirror()

  async function lookup(orderId: string) {
    const [{ fromSimulatorOrder }, order] = await Promise.all([import('../testing/partnerApi.js'), mirror.find(orderId)])
    return order && fromSimulatorOrder(order)
  }

  let started: ReturnType<typeof start> | undefined
  async function start() {
    const missing = await missingDevPeers()
    if (missing.length) throw new MissingDevPackages(missing)
    const [{ PGlite }, server, { startFakeTossPartnerApi }] = await Promise.all([
      devPeers['@electric-sql/pglite']() as Promise<typeof import('@electric-sql/pglite')>,
      import('../server/index.js'),
      import('../testing/partnerApi.js'),
    ])
    const api = await startFakeTossPartnerApi({ orders: lookup })
    const toss = server.createTossPartnerClient({ ...api.clientOptions(), retry: { attempts: 2, baseDelayMs: 100 } })
    const db = await emptyDatabase(PGlite, cacheDir())
    const ledger = await server.createGrantLedger(db)
    // Toss login against the fake Toss, which takes the simulated host's appLogin() codes. A request
    // that carries a session is that user (a bad or ended one is 401, as in production); one without
    // is the dev user, so an app that does not use login buys as before.
    const sessions = server.createSessionStore(ledger)
    // Consumables as a balance: what each sku credits, on the grant; spent through /api/balance/spend.
    const balances = server.createBalances({ ledger, credits })
    const authenticate = (request: Request) => (request.headers.has('Authorization') ? sessions.authenticate(request) : DEV_USER)
    return {
      login: server.createLoginHandler({ toss, ledger, sessions }),
      logout: server.createLogoutHandler({ sessions, toss }),
      unlink: server.createUnlinkHandler({ ledger, sessions, credential: DEV_UNLINK_CREDENTIAL }),
      fulfil: server.createFulfilmentHandler({ toss, ledger, authenticate, balances }),
      balance: server.createBalanceHandler({ balances, authenticate }),
      spend: server.createSpendHandler({ balances, authenticate }),
      entitlements: server.createEntitlementsHandler({
        ledger,
        authenticate,
        products: Object.fromEntries(products.map((p) => [p.sku, p.type])),
      }),
      close: async () => (toss.close(), await api.close(), await db.close()),
    }
  }
  // A start that failed (a package missing, a port refused) is tried again on the next request.
  const ready = () =>
    (started ??= start().catch((error: unknown) => {
      started = undefined
      throw error
    }))

  return {
    endpoints: {
      '/api/iap/fulfill': async (request) => (await ready()).fulfil(request),
      '/api/iap/entitlements': async (request) => (await ready()).entitlements(request),
      '/api/balance': async (request) => (await ready()).balance(request),
      '/api/balance/spend': async (request) => (await ready()).spend(request),
      '/api/auth/login': async (request) => (await ready()).login(request),
      '/api/auth/logout': async (request) => (await ready()).logout(request),
      '/api/auth/unlink': async (request) => (await ready()).unlink(request),
      [MIRROR_PATH]: async (request) => {
        mirror.receive(await request.json().catch(() => null))
        return new Response(null, { status: 204 })
      },
    },
    close: async () => {
      const running = await started?.catch(() => undefined)
      await running?.close()
    },
  }
}

/**
 * A new in-memory PGlite, as empty as `new PGlite()`. Creating one runs PostgreSQL's initdb in
 * WebAssembly: about 5 s of CPU, inside the first purchase of each `vite dev`, with the dev server's
 * event loop held. So the first start keeps a dump of the empty database in Vite's cache folder
 * (4.5 MB, gzip), and later starts load it (about a third of the time). Anything wrong with the
 * cache (no folder, a dump another PGlite version made, a torn file) falls back to initdb.
 */
export async function emptyDatabase(PGlite: typeof PGliteClass, cacheDir: string | undefined): Promise<PGliteClass> {
  const version = cacheDir && pgliteVersion()
  const file = version && join(cacheDir, 'vue-toss-iap', `empty-ledger-pglite-${version}.tar.gz`)
  if (!file) return PGlite.create()
  const dump = await readFile(file).catch(() => undefined)
  if (dump) {
    const loaded = await PGlite.create({ loadDataDir: new Blob([dump]) }).catch(() => undefined)
    if (loaded) return loaded
  }
  const db = await PGlite.create()
  // Written beside it and renamed into place: a dev server stopped halfway leaves no torn dump.
  const written = `${file}.${process.pid}`
  await mkdir(dirname(file), { recursive: true })
    .then(async () => writeFile(written, Buffer.from(await (await db.dumpDataDir('gzip')).arrayBuffer())))
    .then(() => rename(written, file))
    .catch(() => undefined) // no cache this time; the next start tries again
  return db
}

/** The installed PGlite's version, which names the dump (a dump is only loaded by the version that wrote it). */
function pgliteVersion(): string | undefined {
  // Its exports map has no ./package.json: walk up from its entry.
  let dir: string
  try {
    dir = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'))
  } catch {
    return undefined
  }
  for (let up = 0; up < 3; up++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === '@electric-sql/pglite') return pkg.version
    } catch {
      // not here: one folder up
    }
  }
  return undefined
}
