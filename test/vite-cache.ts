import { join } from 'node:path'

/**
 * A Vite dependency cache of its own for each dev server the tests start, kept between runs in
 * node_modules/.cache. Servers with different configs that share Vite's default
 * (node_modules/.vite) find each other's pre-bundled deps stale and optimise again from cold (the
 * huge SDK among them) on every run; one cache each stays warm.
 */
export const viteCacheDir = (name: string) => join(process.cwd(), 'node_modules', '.cache', 'vue-toss-iap-test', `vite-${name}`)
