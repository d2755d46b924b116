import type { TestProject } from 'vitest/node'
import { pgliteTemplate } from '../pglite-template.ts'

/** The playground's ledger starts as a copy of the empty PGlite template, not from initdb (see pglite-template.ts). */
export default async function setup(project: TestProject) {
  project.provide('pgliteTemplate', await pgliteTemplate())
}
