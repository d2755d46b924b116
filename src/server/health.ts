import { eventEmitter, since, type ServerEventListener } from './events.js'
import type { GrantLedger } from './ledger.js'
import type { TossPartnerClient } from './partnerClient.js'

export interface HealthHandlerOptions {
  ledger: GrantLedger
  /** The partner client: the soonest expiry of its client certificates is reported. */
  toss?: Pick<TossPartnerClient, 'certificates'>
  /** How long the database may take to answer before the check counts it down. Default 2000 ms. */
  timeoutMs?: number
  /**
   * Days before the soonest certificate expiry from which the answer carries a warning (still
   * 200: a load balancer must not take every instance out over a certificate that still works).
   * Default 14.
   */
  warnCertificateDays?: number
  /** Told of every probe (`health.checked`); never awaited, a throw is caught. */
  onEvent?: ServerEventListener
  /** Fixed clock for tests. */
  now?: () => number
}

/** The JSON body of the health answer: no secret, no connection string, no error text. */
export interface HealthBody {
  status: 'ok' | 'fail'
  checks: {
    database: { ok: boolean; latencyMs: number; error?: 'unreachable' | 'timeout' }
    migrations: { ok: boolean; version: number | null; expected: number }
    certificates?: {
      ok: boolean
      /** Whole days until the soonest client certificate expires (negative: expired). */
      daysLeft: number | null
      notAfter: string | null
      /** Certificates still valid now (the client moves to the next pair when Toss refuses one). */
      valid: number
      total: number
    }
  }
  warnings: string[]
}

const DAY = 86_400_000

/**
 * `GET`/`HEAD` for a load balancer: `200` when the ledger's database answers with the schema this
 * process needs and at least one client certificate is valid, else `503`; the JSON body says which
 * check failed and how many days the soonest certificate has left.
 */
export function createHealthHandler(options: HealthHandlerOptions): (request: Request) => Promise<Response> {
  const { ledger, toss } = options
  const timeoutMs = options.timeoutMs ?? 2000
  const warnDays = options.warnCertificateDays ?? 14
  const now = options.now ?? Date.now
  const emit = eventEmitter(options.onEvent)

  const database = async (): Promise<{ version: number | null; error?: 'unreachable' | 'timeout' }> => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)))
    const query = ledger
      .transaction((tx) => tx.query<{ version: number | null }>('SELECT max(version) AS version FROM toss_iap_schema'))
      .then(({ rows }) => ({ version: rows[0]?.version ?? null }))
    try {
      const result = await Promise.race([query, timeout])
      return result === 'timeout' ? { version: null, error: 'timeout' } : result
    } catch {
      return { version: null, error: 'unreachable' }
    } finally {
      clearTimeout(timer)
      query.catch(() => {}) // a query that lost the race must not become an unhandled rejection
    }
  }

  return async (request) => {
    const headers = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return new Response(JSON.stringify({ error: { code: 'METHOD_NOT_ALLOWED', message: 'use GET', retryable: false } }), {
        status: 405,
        headers: { ...headers, Allow: 'GET, HEAD' },
      })
    }
    const start = performance.now()
    const db = await database()
    const latencyMs = since(start)
    const body: HealthBody = {
      status: 'ok',
      checks: {
        database: { ok: db.error === undefined, latencyMs, ...(db.error && { error: db.error }) },
        migrations: {
          ok: db.version !== null && db.version >= ledger.schemaVersion,
          version: db.version,
          expected: ledger.schemaVersion,
        },
      },
      warnings: [],
    }
    let daysLeft: number | null = null
    if (toss) {
      const certificates = toss.certificates
      const at = now()
      const soonest = certificates.reduce<Date | null>((min, c) => (min === null || c.notAfter < min ? c.notAfter : min), null)
      const valid = certificates.filter((c) => c.notBefore.getTime() <= at && c.notAfter.getTime() > at).length
      daysLeft = soonest === null ? null : Math.floor((soonest.getTime() - at) / DAY)
      body.checks.certificates = {
        ok: valid > 0 || certificates.length === 0, // unreadable: unknown, warned below, not failed
        daysLeft,
        notAfter: soonest?.toISOString() ?? null,
        valid,
        total: certificates.length,
      }
      if (certificates.length === 0) body.warnings.push('the client certificates could not be read as X.509')
      else if (daysLeft !== null && daysLeft < warnDays)
        body.warnings.push(
          daysLeft < 0 ? 'a client certificate has expired' : `a client certificate expires in ${daysLeft} days: register its successor`,
        )
    }
    const failing = Object.entries(body.checks)
      .filter(([, check]) => !check.ok)
      .map(([name]) => name)
    if (failing.length > 0) body.status = 'fail'
    emit({ type: 'health.checked', healthy: failing.length === 0, failing, certificateDaysLeft: daysLeft, durationMs: since(start) })
    const status = failing.length === 0 ? 200 : 503
    return new Response(request.method === 'HEAD' ? null : JSON.stringify(body), { status, headers })
  }
}
