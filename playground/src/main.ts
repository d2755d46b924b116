import { createPinia } from 'pinia'
import { createApp } from 'vue'
import { balanceViaEndpoint, createTossIap, createTossLogin, grantViaEndpoint } from 'vue-toss-iap'
import App from './App.vue'
import './style.css'

async function start() {
  const app = createApp(App)
  // No Toss app around: the simulated host stands in for it. A production build leaves it out
  // (and the code with it) unless built with VITE_TOSS_SIMULATOR=true.
  if (import.meta.env.DEV || import.meta.env.VITE_TOSS_SIMULATOR === 'true') {
    const { setupSimulator } = await import('./simulator')
    setupSimulator(app)
  }
  app.use(createPinia())
  // The app server is this dev (or preview) server: its absolute URL, as a mini-app must use in the
  // Toss app (a relative URL there would reach Toss's host, and the package warns about it).
  const api = (path: string) => new URL(path, location.origin).href
  // Toss login: the simulated host's appLogin(), the dev server's login handler, the session sent
  // with every grant. A purchase by a user who is not logged in logs in first.
  const login = createTossLogin({ endpoint: api('/api/auth/login'), logoutEndpoint: api('/api/auth/logout') })
  // Gems as a balance on the app server: up on a gem-100 purchase, down on a spend.
  const balance = balanceViaEndpoint({ balance: api('/api/balance'), spend: api('/api/balance/spend') })
  app.use(createTossIap({ grant: grantViaEndpoint(api('/api/iap/fulfill')), login, balance }))
  app.mount('#app')
}

void start()
