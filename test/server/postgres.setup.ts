// Integration tests need a real PostgreSQL: TEST_PG_URL (or DATABASE_URL). Without one they are
// skipped with one line, except under CI, where a missing PostgreSQL fails the run.
export default function setup() {
  const url = process.env.TEST_PG_URL ?? process.env.DATABASE_URL
  if (url) return
  if (process.env.CI === 'true' || process.env.CI === '1')
    throw new Error('CI=true but no PostgreSQL: set TEST_PG_URL (.ci/run starts one with scripts/start-postgres.sh)')
  console.log('PostgreSQL integration tests skipped: no TEST_PG_URL (scripts/start-postgres.sh starts a local one)')
}
