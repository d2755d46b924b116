#!/usr/bin/env node
// `npx vue-toss-iap reconcile`: refund reconciliation from a cron, configured by the environment.
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { redact } from './errors.js'
import type { ServerEvent } from './events.js'
import { createGrantLedger, type GrantRecord, type GrantTransaction, type PGliteLike, type PgPoolLike } from './ledger.js'
import { createTossPartnerClient } from './partnerClient.js'
import { reconcile } from './reconcile.js'

const USAGE = `usage: vue-toss-iap reconcile

Asks Toss again about the orders granted in the last days and marks the refunded ones in the ledger.

environment:
  DATABASE_URL                    postgres://… (pg), or a PGlite data directory (pglite:./data/ledger or a path)
  TOSS_CERT, TOSS_KEY             the console's mTLS certificate and key: a file path or the PEM itself
  TOSS_CA                         extra CA for Toss's server certificate (a path or PEM; tests only)
  TOSS_BASE_URL                   default https://apps-in-toss-api.toss.im
  TOSS_RECONCILE_WINDOW_DAYS      default 30
  TOSS_RECONCILE_RATE_PER_MINUTE  default 600
  TOSS_RECONCILE_BATCH_SIZE       default 100
  TOSS_RECONCILE_HOOKS            an ES module exporting onRevoke(order, tx) and/or userKeyOf(order)
  TOSS_REFUND_POLICY              negative (default) or clamp: what a refund does to a balance whose
                                  credit was spent (docs/balance.md)
  TOSS_RECONCILE_LOG              text (default) or json: every event (Toss requests, orders checked,
                                  revoked, failed, the run's summary) as one JSON line on stdout

exit status: 0 finished, 2 stopped early (run it again to resume), 1 failed.`

class ConfigError extends Error {}

/** A PEM given inline, or read from the path given. */
function pem(name: string, required: boolean): string | undefined {
  const value = process.env[name]?.trim()
  if (!value) {
    if (required) throw new ConfigError(`${name} is not set (a file path or the PEM itself)`)
    return undefined
  }
  if (value.startsWith('-----BEGIN')) return value.replace(/\\n/g, '\n')
  if (!existsSync(value)) throw new ConfigError(`${name} is neither PEM nor a readable file`)
  return readFileSync(value, 'utf8')
}

function positive(name: string): number | undefined {
  const value = process.env[name]
  if (value === undefined || value === '') return undefined
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${name} must be a positive number`)
  return n
}

function refundPolicy(): 'negative' | 'clamp' {
  const value = process.env.TOSS_REFUND_POLICY?.trim() || 'negative'
  if (value !== 'negative' && value !== 'clamp') throw new ConfigError('TOSS_REFUND_POLICY must be negative or clamp')
  return value
}

async function openDatabase(url: string): Promise<{ db: PGliteLike | PgPoolLike; close: () => Promise<void> }> {
  if (/^postgres(ql)?:\/\//i.test(url)) {
    const { default: pg } = await import('pg')
    const pool = new pg.Pool({ connectionString: url, max: 2 })
    return { db: pool as unknown as PgPoolLike, close: () => pool.end() }
  }
  const dir = url.replace(/^pglite:/i, '').replace(/^file:\/\//i, '')
  if (!existsSync(dir)) throw new ConfigError('DATABASE_URL is neither postgres://… nor an existing PGlite directory')
  const { PGlite } = await import('@electric-sql/pglite')
  const db = new PGlite(dir)
  await db.waitReady
  return { db: db as unknown as PGliteLike, close: () => db.close() }
}

interface Hooks {
  onRevoke?: (order: GrantRecord, tx: GrantTransaction) => Promise<void> | void
  userKeyOf?: (order: GrantRecord) => string | null | undefined | Promise<string | null | undefined>
}

async function main(argv: string[], out = (line: string) => console.log(line)): Promise<number> {
  const [command] = argv
  if (command !== 'reconcile') {
    out(USAGE)
    return command === undefined || command === '--help' || command === '-h' ? 0 : 1
  }
  const url = process.env.DATABASE_URL
  if (!url) throw new ConfigError('DATABASE_URL is not set')
  const cert = pem('TOSS_CERT', true)!
  const key = pem('TOSS_KEY', true)!
  const ca = pem('TOSS_CA', false)
  const format = process.env.TOSS_RECONCILE_LOG ?? 'text'
  if (format !== 'text' && format !== 'json') throw new ConfigError('TOSS_RECONCILE_LOG must be text or json')
  // Events carry no certificate, key or user key (see events.ts): safe for a log collector.
  const onEvent = format === 'json' ? (event: ServerEvent) => out(JSON.stringify({ time: new Date().toISOString(), ...event })) : undefined
  const hooksPath = process.env.TOSS_RECONCILE_HOOKS
  const hooks: Hooks = hooksPath ? ((await import(pathToFileURL(resolve(hooksPath)).href)) as Hooks) : {}
  const toss = createTossPartnerClient({
    cert,
    key,
    ...(ca && { ca }),
    ...(process.env.TOSS_BASE_URL && { baseUrl: process.env.TOSS_BASE_URL }),
    retry: false,
    onEvent,
  })
  const { db, close } = await openDatabase(url)
  try {
    const ledger = await createGrantLedger(db)
    const summary = await reconcile({
      ledger,
      toss,
      windowDays: positive('TOSS_RECONCILE_WINDOW_DAYS'),
      ratePerMinute: positive('TOSS_RECONCILE_RATE_PER_MINUTE'),
      batchSize: positive('TOSS_RECONCILE_BATCH_SIZE'),
      ...(hooks.onRevoke && { onRevoke: hooks.onRevoke }),
      refundPolicy: refundPolicy(),
      ...(hooks.userKeyOf && { userKeyOf: hooks.userKeyOf }),
      onEvent,
    })
    if (format === 'json') return summary.finished ? 0 : 2 // the summary was the last event (reconcile.finished or .busy)
    if (summary.busy) {
      out('reconcile: another run holds the lease; nothing done')
      return 2
    }
    out(
      `reconcile: ${summary.finished ? 'finished' : 'stopped early (run again to resume)'}; checked ${summary.checked}, ` +
        `refunded ${summary.refunded.length}, skipped ${summary.skipped} (no user key), failed ${summary.failed.length}, ` +
        `requests ${summary.requests} (${summary.rateLimited} rate-limited)`,
    )
    for (const orderId of summary.refunded) out(`refunded ${orderId}`)
    for (const { orderId, code } of summary.failed) out(`failed ${orderId} ${code}`)
    return summary.finished ? 0 : 2
  } finally {
    toss.close()
    await close()
  }
}

// The package's `bin`: it runs when loaded (nothing else imports this module).
main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    // Only the message, PEM-looking text removed: no stack with options, no environment.
    const message = error instanceof Error ? error.message : String(error)
    console.error(`vue-toss-iap: ${error instanceof ConfigError ? 'configuration: ' : ''}${redact(message)}`)
    process.exitCode = 1
  },
)
