/**
 * PGlite is PostgreSQL compiled to WebAssembly (9 MB). V8 compiles it first with its baseline
 * compiler (Liftoff), then recompiles the hot functions with TurboFan on background threads; in a
 * test process that lives seconds, that recompilation costs seconds of CPU per process and is
 * never paid back (a cold initdb takes about half the CPU on Liftoff alone). The processes that
 * open PGlite (the server and e2e workers, the CLI the tests spawn) run on Liftoff alone: the same
 * code, compiled once.
 */
export const WASM_BASELINE_ONLY = ['--liftoff-only']
