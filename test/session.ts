import { enableAutoUnmount } from '@vue/test-utils'
import { afterEach, beforeEach, vi } from 'vitest'
import { installTossSimulator, type SimulatorOptions, type TossSimulator } from '../src/testing'
import { createTestServer } from './helpers'

/**
 * Importing this gives the test file a fresh simulated host (`sim`) and app server (`server`) for
 * each test, and unmounts what a test mounted, then puts the page back. The bindings are live.
 */
export let sim: TossSimulator
export let server: ReturnType<typeof createTestServer>

let options: SimulatorOptions = {}
/** The host options every test of this file starts with. */
export function hostDefaults(defaults: SimulatorOptions) {
  options = defaults
}

/** Replaces the host for the rest of the test (e.g. with other options). */
export function reinstall(overrides: SimulatorOptions = {}): TossSimulator {
  sim.uninstall()
  sim = installTossSimulator({ ...options, ...overrides })
  return sim
}

enableAutoUnmount(afterEach)
beforeEach(() => {
  sim = installTossSimulator(options)
  server = createTestServer()
})
afterEach(() => {
  sim.uninstall()
  vi.useRealTimers()
})
