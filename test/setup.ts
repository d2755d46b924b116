import { beforeEach } from 'vitest'

// Every test starts from an empty cache, as a first visit would.
beforeEach(() => {
  if (typeof localStorage !== 'undefined') localStorage.clear()
})
