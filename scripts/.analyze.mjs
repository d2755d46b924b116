import { build } from 'vite'
import { mkdirSync, writeFileSync, existsSync, symlinkSync } from 'node:fs'
const base = '/work/main/node_modules/.cache/vue-toss-iap-size'
const dir = base + '/apps/analyze'
mkdirSync(dir, { recursive: true })
writeFileSync(dir + '/main.js', process.argv[2])
const out = await build({
  configFile: false,
  root: dir,
  logLevel: 'silent',
  define: { 'process.env.NODE_ENV': '"production"' },
  build: {
    write: false,
    minify: true,
    rolldownOptions: {
      input: dir + '/main.js',
      external: [/^vue($|\/)/, /^pinia($|\/)/, /^@vueuse\//, /^@apps-in-toss\//, /^@vue\/devtools-api/],
    },
  },
})
for (const c of (Array.isArray(out) ? out : [out]).flatMap((o) => o.output))
  if (c.type === 'chunk') {
    for (const [id, m] of Object.entries(c.modules).sort((a, b) => b[1].renderedLength - a[1].renderedLength))
      console.log(m.renderedLength, id.replace('/work/main/', ''))
  }
