import { defineConfig } from '@apps-in-toss/web-framework/config'

// The Apps in Toss manifest: `ait build` runs `web.commands.build` and packs its `outdir` into the
// `.ait` bundle you upload in the console; `granite dev` serves `web.commands.dev` to the sandbox app.
export default defineConfig({
  appName: 'vue-toss-iap-example', // the app name registered in the Apps in Toss console
  brand: {
    displayName: 'IAP 예제',
    primaryColor: '#3182F6',
    icon: '', // an https URL of the app icon, from the console
  },
  permissions: [],
  web: {
    host: 'localhost',
    port: 5173,
    commands: { dev: 'vite --host', build: 'vite build' },
  },
  outdir: 'dist',
})
