import { createHash, randomBytes } from 'node:crypto'
import type { AuthenticatedUser } from './fulfilment.js'
import { preparedOf, type GrantLedger, type SqlQueryable } from './ledger.js'

const TABLE = 'toss_iap_sessions'
/** `vti_` and 43 base64url characters: 32 random bytes. Anything else is refused without a query. */
const TOKEN = /^vti_[A-Za-z0-9_-]{43}$/

export interface SessionOptions {
  /** A session unused this long ends. Each use renews it (sliding). Default 7 days. */
  idleMs?: number
  /** No session lives longer than this from login, however often used. Default 30 days. */
  maxAgeMs?: number
  /** A use renews the session in the database at most this often (fewer writes). Default 1 minute. */
  touchEveryMs?: number
}

/** The app's own session, as the page gets it from the login handler. */
export interface SessionAnswer {
  /** Send it as `Authorization: Bearer <token>`. Stored hashed on the server. */
  token: string
  /** When the session ends if unused (ISO 8601); each use moves it, up to the session's maximum age. */
  expiresAt: string
  user: { userId: string }
}

/** A live session. */
export interface Session extends AuthenticatedUser {
  createdAt: Date
  expiresAt: Date
}

export interface SessionStore {
  /** Opens a session for the user, in `tx` when given (the login's transaction). */
  create(user: AuthenticatedUser & { referrer?: string | null }, tx?: SqlQueryable): Promise<{ token: string; expiresAt: Date }>
  /** The session of a token: `null` when it is malformed, unknown, expired or revoked. Renews it. */
  verify(token: string | null | undefined): Promise<Session | null>
  /**
   * The `authenticate` every handler takes: reads `Authorization: Bearer <token>`. `null` (401)
   * for a missing, malformed, forged, expired or revoked token.
   */
  authenticate(request: Request): Promise<AuthenticatedUser | null>
  /** Ends one session: its user when it was live, `null` when it was not (unknown, expired or ended already). */
  revoke(token: string | null | undefined, reason?: string): Promise<AuthenticatedUser | null>
  /** Ends every session of a Toss user (an unlink); the number ended. */
  revokeUserKey(userKey: string, reason: string, tx?: SqlQueryable): Promise<number>
  /** Ends every session of an app user; the number ended. */
  revokeUser(userId: string, reason: string): Promise<number>
  /** Deletes sessions that ended more than `olderThanMs` ago (default 30 days); the number deleted. */
  prune(olderThanMs?: number): Promise<number>
}

const hash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex')

/** The bearer token of a request, or `null`. */
export function bearerToken(request: Request): string | null {
  const header = request.headers.get('Authorization')
  const match = header && /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match ? match[1]! : null
}

interface Row {
  user_id: string
  user_key: string
  created_at: Date
  expires_at: Date
  last_used_at: Date
}

/**
 * Sessions for Toss login, in the ledger's database (its migrations create the table), so every
 * server process sharing the ledger shares them. Tokens are random, stored as their SHA-256.
 */
export function createSessionStore(ledger: Pick<GrantLedger, 'query' | 'schemaVersion'>, options: SessionOptions = {}): SessionStore {
  if (ledger.schemaVersion < 3)
    throw new TypeError('vue-toss-iap/server: sessions need the ledger schema 3 (update vue-toss-iap on every server)')
  const idle = options.idleMs ?? 7 * 86_400_000
  const maxAge = options.maxAgeMs ?? 30 * 86_400_000
  const touchEvery = options.touchEveryMs ?? 60_000
  for (const [name, value] of Object.entries({ idleMs: idle, maxAgeMs: maxAge, touchEveryMs: touchEvery }))
    if (!Number.isFinite(value) || value < 0) throw new TypeError(`vue-toss-iap/server: session ${name} must be a number of milliseconds`)
  const db: SqlQueryable = ledger
  const prepared = preparedOf(ledger)
  const ms = (n: number) => `${Math.round(n)} milliseconds`

  const verify = async (token: string | null | undefined): Promise<Session | null> => {
    if (typeof token !== 'string' || !TOKEN.test(token)) return null
    const { rows } = await prepared<Row>(
      db,
      `SELECT user_id, user_key, created_at, expires_at, last_used_at FROM ${TABLE}
        WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()`,
      [hash(token)],
    )
    const row = rows[0]
    if (!row) return null
    let expiresAt = row.expires_at
    if (Date.now() - row.last_used_at.getTime() >= touchEvery) {
      const { rows: touched } = await db.query<{ expires_at: Date }>(
        `UPDATE ${TABLE} SET last_used_at = now(), expires_at = LEAST(max_expires_at, now() + $2::interval)
          WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()
          RETURNING expires_at`,
        [hash(token), ms(idle)],
      )
      if (!touched[0]) return null // revoked or expired in between
      expiresAt = touched[0].expires_at
    }
    return { userId: row.user_id, userKey: row.user_key, createdAt: row.created_at, expiresAt }
  }

  const ended = async (sql: string, params: unknown[], q: SqlQueryable = db) => (await q.query(sql, params)).rows.length

  return {
    create: async ({ userId, userKey, referrer = null }, tx = db) => {
      const token = `vti_${randomBytes(32).toString('base64url')}`
      const { rows } = await tx.query<{ expires_at: Date }>(
        `INSERT INTO ${TABLE} (token_hash, user_id, user_key, referrer, expires_at, max_expires_at)
         VALUES ($1, $2, $3, $4, now() + LEAST($5::interval, $6::interval), now() + $6::interval)
         RETURNING expires_at`,
        [hash(token), userId, userKey, referrer, ms(idle), ms(maxAge)],
      )
      return { token, expiresAt: rows[0]!.expires_at }
    },
    verify,
    authenticate: async (request) => {
      const session = await verify(bearerToken(request))
      return session && { userId: session.userId, userKey: session.userKey }
    },
    revoke: async (token, reason = 'logout') => {
      if (typeof token !== 'string' || !TOKEN.test(token)) return null
      const { rows } = await db.query<{ user_id: string; user_key: string; live: boolean }>(
        `UPDATE ${TABLE} SET revoked_at = now(), revoked_reason = $2 WHERE token_hash = $1 AND revoked_at IS NULL
         RETURNING user_id, user_key, expires_at > now() AS live`,
        [hash(token), reason],
      )
      return rows[0]?.live ? { userId: rows[0].user_id, userKey: rows[0].user_key } : null
    },
    revokeUserKey: (userKey, reason, tx) =>
      ended(
        `UPDATE ${TABLE} SET revoked_at = now(), revoked_reason = $2 WHERE user_key = $1 AND revoked_at IS NULL RETURNING 1`,
        [userKey, reason],
        tx,
      ),
    revokeUser: (userId, reason) =>
      ended(`UPDATE ${TABLE} SET revoked_at = now(), revoked_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL RETURNING 1`, [
        userId,
        reason,
      ]),
    prune: (olderThanMs = 30 * 86_400_000) =>
      ended(`DELETE FROM ${TABLE} WHERE LEAST(COALESCE(revoked_at, expires_at), expires_at) < now() - $1::interval RETURNING 1`, [
        ms(olderThanMs),
      ]),
  }
}
