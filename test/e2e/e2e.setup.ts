import { chromium } from 'playwright'
import type { TestProject } from 'vitest/node'
import { CHROMIUM_ARGS, chromiumPath } from '../chromium.ts'
import { pgliteTemplate } from '../pglite-template.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    chromiumEndpoint: string
  }
}

/**
 * What the end-to-end files share: the empty PGlite template the playground's ledger starts from
 * (see pglite-template.ts), and one Chromium, started once here and connected to by each file
 * (each in its own browser contexts), instead of one launch per file.
 */
export default async function setup(project: TestProject) {
  const [template, browser] = await Promise.all([
    pgliteTemplate(),
    chromium.launchServer({ executablePath: chromiumPath(), args: CHROMIUM_ARGS }),
  ])
  project.provide('pgliteTemplate', template)
  project.provide('chromiumEndpoint', browser.wsEndpoint())
  return () => browser.close()
}
