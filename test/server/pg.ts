/** The PostgreSQL of the integration tests, when there is one (see postgres.setup.ts). */
export const PG_URL = process.env.TEST_PG_URL ?? process.env.DATABASE_URL ?? null

/**
 * A pool on a throwaway schema of the integration PostgreSQL (`PG_URL` must be set), so that test
 * files running at once never see each other's tables; `close` drops the schema.
 */
export async function openPgSchema(prefix: string, max = 20) {
  const pg = (await import('pg')).default
  const schema = `${prefix}_${process.pid}_${Date.now()}`
  const admin = new pg.Pool({ connectionString: PG_URL! })
  await admin.query(`CREATE SCHEMA ${schema}`)
  const db = new pg.Pool({ connectionString: PG_URL!, options: `-c search_path=${schema}`, max })
  return {
    db,
    close: async () => {
      await db.end()
      await admin.query(`DROP SCHEMA ${schema} CASCADE`)
      await admin.end()
    },
  }
}
