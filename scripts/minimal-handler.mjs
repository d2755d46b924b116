// The yardstick for the server rows of `npm run bench`: what a careful developer would write by hand
// on node:http, with no package. It does what the package's fulfilment and entitlements handlers do
// for a well-behaved client and nothing more: look the order up; if new, ask Toss's order-status over
// a keep-alive mutual-TLS https.Agent, then insert it once in a transaction with the product row;
// repeats and entitlements are answered from the database. No CORS, no error catalogue, no body
// limit beyond a length check, no retries or rotation: a floor, not a product.
import https from 'node:https'

const ORDER_STATUS_PATH = '/api-partner/v1/apps-in-toss/order/get-order-status'
const TABLE = 'minimal_grants'

/** Creates the yardstick's table (once per database). */
export async function migrateMinimal(db) {
  await db.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (
    order_id text PRIMARY KEY, user_id text NOT NULL, sku text NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(), refunded_at timestamptz)`)
  await db.query(`CREATE INDEX IF NOT EXISTS ${TABLE}_user ON ${TABLE} (user_id, granted_at DESC)`)
  await db.query('CREATE TABLE IF NOT EXISTS minimal_products (order_id text PRIMARY KEY, user_id text NOT NULL)')
}

/** One transaction on a pg.Pool or a PGlite. */
async function transaction(db, fn) {
  if (typeof db.connect === 'function' && typeof db.transaction !== 'function') {
    const client = await db.connect()
    try {
      await client.query('BEGIN')
      const result = await fn(client)
      await client.query('COMMIT')
      return result
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      throw error
    } finally {
      client.release()
    }
  }
  return db.transaction(fn)
}

/**
 * A node:http listener: `POST /fulfil` `{ orderId }` and `GET /entitlements`, the user from
 * `Authorization: Bearer <userId>` (the Toss user key is `uk-<userId>`).
 * `toss`: `{ baseUrl, cert, key, ca }` of the partner API.
 */
export function createMinimalHandler({ db, toss, products }) {
  const agent = new https.Agent({ cert: toss.cert, key: toss.key, ca: toss.ca, keepAlive: true, maxSockets: 32 })
  const statusUrl = new URL(ORDER_STATUS_PATH, toss.baseUrl)

  const send = (res, status, body) => {
    const text = JSON.stringify(body)
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) })
    res.end(text)
  }

  const askToss = (orderId, userKey) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ orderId })
      const request = https.request(statusUrl, {
        method: 'POST',
        agent,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'x-toss-user-key': userKey },
      })
      request.on('error', reject)
      request.on('response', (response) => {
        const chunks = []
        response.on('data', (c) => chunks.push(c))
        response.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')))
          } catch (error) {
            reject(error)
          }
        })
      })
      request.end(body)
    })

  async function fulfil(req, res, userId) {
    const chunks = []
    let size = 0
    for await (const chunk of req) {
      size += chunk.length
      if (size > 16 * 1024) return send(res, 413, { error: 'too large' })
      chunks.push(chunk)
    }
    let orderId
    try {
      orderId = JSON.parse(Buffer.concat(chunks).toString('utf8')).orderId
    } catch {
      return send(res, 400, { error: 'invalid JSON' })
    }
    if (typeof orderId !== 'string' || orderId === '') return send(res, 400, { error: 'orderId required' })
    const { rows } = await db.query(`SELECT user_id, sku FROM ${TABLE} WHERE order_id = $1`, [orderId])
    if (rows[0]) {
      if (rows[0].user_id !== userId) return send(res, 409, { error: 'another user' })
      return send(res, 200, { granted: true, orderId, sku: rows[0].sku, repeat: true })
    }
    const answer = await askToss(orderId, `uk-${userId}`)
    const status = answer?.success?.status
    if (answer?.resultType !== 'SUCCESS' || (status !== 'PURCHASED' && status !== 'PAYMENT_COMPLETED'))
      return send(res, 402, { error: `not paid (${status})` })
    const sku = answer.success.sku
    const granted = await transaction(db, async (tx) => {
      const inserted = await tx.query(
        `INSERT INTO ${TABLE} (order_id, user_id, sku) VALUES ($1, $2, $3) ON CONFLICT (order_id) DO NOTHING RETURNING user_id`,
        [orderId, userId, sku],
      )
      if (inserted.rows.length === 0) return (await tx.query(`SELECT user_id FROM ${TABLE} WHERE order_id = $1`, [orderId])).rows[0]
      await tx.query('INSERT INTO minimal_products (order_id, user_id) VALUES ($1, $2)', [orderId, userId])
      return inserted.rows[0]
    })
    if (granted.user_id !== userId) return send(res, 409, { error: 'another user' })
    send(res, 200, { granted: true, orderId, sku, repeat: false })
  }

  async function entitlements(res, userId) {
    const { rows } = await db.query(`SELECT order_id, sku, refunded_at FROM ${TABLE} WHERE user_id = $1 ORDER BY granted_at DESC`, [userId])
    const seen = new Set()
    const list = []
    for (const row of rows) {
      if (products[row.sku] !== 'NON_CONSUMABLE' || seen.has(row.sku)) continue
      seen.add(row.sku)
      list.push({ sku: row.sku, isActive: row.refunded_at === null, orderId: row.order_id, subscription: null })
    }
    send(res, 200, { entitlements: list })
  }

  const listener = (req, res) => {
    const auth = req.headers.authorization
    const userId = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : ''
    if (userId === '') return send(res, 401, { error: 'sign in' })
    const work =
      req.method === 'POST' && req.url === '/fulfil'
        ? fulfil(req, res, userId)
        : req.method === 'GET' && req.url === '/entitlements'
          ? entitlements(res, userId)
          : Promise.resolve(send(res, 404, { error: 'not found' }))
    work.catch(() => (res.headersSent ? res.destroy() : send(res, 500, { error: 'failed' })))
  }
  listener.close = () => agent.destroy()
  return listener
}
