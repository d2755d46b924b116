/** What the endpoints need of a login: its token, and one renewal after a 401. */
export interface SessionSource {
  token(): string | null
  renew(): Promise<boolean>
}

let source: SessionSource | undefined

/** The page's login, set by `createTossIap({ login })`: the endpoints send its session by themselves. */
export const setSessionSource = (login: SessionSource | undefined): void => void (source = login)
export const sessionSource = (): SessionSource | undefined => source
