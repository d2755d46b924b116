import { isClient } from './environment.js'

/** Anything with `getItem`/`setItem`, sync (`localStorage`) or async (Apps in Toss `Storage`). */
export interface StorageLike {
  getItem(key: string): string | null | undefined | Promise<string | null | undefined>
  setItem(key: string, value: string): unknown
}

export interface CacheOptions {
  /** Where to keep the cache. Default `localStorage` when there is one; `false` turns caching off. */
  storage?: StorageLike | false
  /** How long a cached entry may be shown (while it revalidates). Default 24 h. */
  ttl?: number
  /** Key prefix. Default `'vue-toss-iap:'`. */
  prefix?: string
}

export const DEFAULT_CACHE_TTL = 86_400_000
const VERSION = 1

export interface CacheEntry<T> {
  value: T
  savedAt: number
}

export interface IapCache {
  /**
   * Reads `name`, validating with `parse` (which throws or returns null for what it cannot use).
   * Calls `found` synchronously when the storage is synchronous, so a warm cache paints at once.
   * Corrupt, foreign and expired entries are ignored.
   */
  read<T>(name: string, parse: (raw: unknown) => T | null, found: (entry: CacheEntry<T>) => void): void
  write(name: string, value: unknown): void
}

function defaultStorage(): StorageLike | undefined {
  if (!isClient) return undefined
  try {
    // Reading `localStorage` throws where storage is blocked (sandboxed frames, some privacy modes).
    return window.localStorage ?? undefined
  } catch {
    return undefined
  }
}

const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof (v as PromiseLike<unknown> | null)?.then === 'function'

export function createCache(options: CacheOptions = {}): IapCache {
  const storage = options.storage === false ? undefined : (options.storage ?? defaultStorage())
  const ttl = options.ttl ?? DEFAULT_CACHE_TTL
  const prefix = options.prefix ?? 'vue-toss-iap:'

  return {
    read(name, parse, found) {
      if (!storage) return
      const accept = (text: unknown) => {
        if (typeof text !== 'string') return
        try {
          const entry = JSON.parse(text) as { v?: unknown; savedAt?: unknown; value?: unknown }
          if (entry?.v !== VERSION || typeof entry.savedAt !== 'number') return
          if (Date.now() - entry.savedAt > ttl || entry.savedAt > Date.now() + 60_000) return
          const value = parse(entry.value)
          if (value !== null) found({ value, savedAt: entry.savedAt })
        } catch {
          // Corrupt or foreign: ignored here, replaced by the next write.
        }
      }
      try {
        const text = storage.getItem(prefix + name)
        if (isThenable(text)) text.then(accept, () => {})
        else accept(text)
      } catch {
        // A storage that throws is treated as empty.
      }
    },
    write(name, value) {
      if (!storage) return
      try {
        const done = storage.setItem(prefix + name, JSON.stringify({ v: VERSION, savedAt: Date.now(), value }))
        if (isThenable(done)) done.then(undefined, () => {})
      } catch {
        // Full or blocked storage: the cache is an optimisation, never a requirement.
      }
    },
  }
}
