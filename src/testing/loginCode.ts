// The authorization codes the simulated host's `appLogin()` hands out, and the fake Toss partner
// API accepts. Page-safe (no Node modules): the simulator runs in the page, the fake API in Node.

/** What a simulated `appLogin()` code stands for. */
export interface SimulatedLoginCode {
  userKey: string
  referrer: 'DEFAULT' | 'SANDBOX'
  /** When the code was issued, ms since the epoch: the fake API refuses it 10 minutes later. */
  issuedAt: number
  nonce: string
}

const PREFIX = 'sim-login.'

const toBase64Url = (text: string) =>
  btoa(unescape(encodeURIComponent(text)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
const fromBase64Url = (text: string) => decodeURIComponent(escape(atob(text.replace(/-/g, '+').replace(/_/g, '/'))))

/** A code as the simulated host makes it: it names the user, so a dev server's fake Toss knows who logged in. */
export function simulatedAuthorizationCode(code: Omit<SimulatedLoginCode, 'nonce'> & { nonce?: string }): string {
  const nonce = code.nonce ?? Math.random().toString(36).slice(2, 12)
  return PREFIX + toBase64Url(JSON.stringify({ u: code.userKey, r: code.referrer, t: code.issuedAt, n: nonce }))
}

/** Reads a simulated code; `null` for anything else. */
export function readSimulatedAuthorizationCode(code: string): SimulatedLoginCode | null {
  if (!code.startsWith(PREFIX) || code.length > 1024) return null
  try {
    const v = JSON.parse(fromBase64Url(code.slice(PREFIX.length))) as { u?: unknown; r?: unknown; t?: unknown; n?: unknown }
    if (
      typeof v.u !== 'string' ||
      v.u === '' ||
      (v.r !== 'DEFAULT' && v.r !== 'SANDBOX') ||
      typeof v.t !== 'number' ||
      typeof v.n !== 'string'
    )
      return null
    return { userKey: v.u, referrer: v.r, issuedAt: v.t, nonce: v.n }
  } catch {
    return null
  }
}
