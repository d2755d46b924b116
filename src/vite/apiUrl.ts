// The build-time half of "a production build cannot ship an unreachable grant URL": the app reads
// its server's URL from an env variable (`import.meta.env.VITE_API_URL`); a build without a usable
// one would post every paid order to `undefined/api/iap/fulfill` inside the Toss app.

/** Why a URL cannot reach the app's server from the Toss app (an https page of Toss's); `undefined` when it can. */
export function unusableEndpoint(url: string | undefined): 'missing' | 'relative' | 'insecure' | undefined {
  const text = (url ?? '').trim()
  if (!text || /^(undefined|null)\b/.test(text)) return 'missing'
  if (/^https:\/\/[^/]/i.test(text)) return undefined
  return /^http:/i.test(text) ? 'insecure' : 'relative'
}

/** True when a module reads `import.meta.env.<name>` (as a property, destructured, or by a string key). */
export function usesEnv(code: string, name: string): boolean {
  return code.includes('import.meta.env') && new RegExp(`\\b${name.replace(/[^\w]/g, '')}\\b`).test(code)
}

/** What is wrong with the value for a build that goes to the Toss app, as a message naming the fix; `undefined` when it is usable. */
export function checkApiUrl(name: string, value: unknown, mode: string, locale: 'ko' | 'en'): string | undefined {
  const problem = unusableEndpoint(typeof value === 'string' ? value : undefined)
  if (!problem) return undefined
  const file = `.env.${mode}`
  const shown = typeof value === 'string' && value !== '' ? `"${value}"` : undefined
  if (locale === 'ko')
    return (
      `[vue-toss-iap] 이 빌드(mode "${mode}")에서 ${name} 값이 ${shown ? `${shown}예요` : '비어 있어요'}. ` +
      `토스 앱에서는 ${problem === 'missing' ? '결제된 주문이 "undefined/api/iap/fulfill"로 가서' : problem === 'relative' ? '상대 URL이 토스의 호스트로 가서' : 'http: 주소에 닿지 못해서'} ` +
      `지급되지 않아요.\n  ${file}에 앱 서버의 https 주소를 적으세요: ${name}=https://api.example.com\n` +
      `  (다른 변수를 쓴다면 tossIapDev({ apiUrlEnv: '이름' }), 이 검사를 끄려면 tossIapDev({ apiUrlEnv: false }))`
    )
  return (
    `[vue-toss-iap] ${name} is ${shown ?? 'not set'} in this build (mode "${mode}"). In the Toss app ` +
    `${problem === 'missing' ? 'paid orders would go to "undefined/api/iap/fulfill"' : problem === 'relative' ? "a relative URL reaches Toss's host, not your server" : 'an http: URL cannot be reached'}, ` +
    `and nothing would be granted.\n  Set your app server's https URL in ${file}: ${name}=https://api.example.com\n` +
    `  (another variable: tossIapDev({ apiUrlEnv: 'NAME' }); no check: tossIapDev({ apiUrlEnv: false }))`
  )
}
