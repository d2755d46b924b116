/** The PostgreSQL of the integration tests, when there is one (see postgres.setup.ts). */
export const PG_URL = process.env.TEST_PG_URL ?? process.env.DATABASE_URL ?? null
