import { createPinia } from 'pinia'
import { createApp } from 'vue'
import { createTossIap, grantViaEndpoint } from 'vue-toss-iap'
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
  app.use(createTossIap({ grant: grantViaEndpoint('/api/iap/fulfill') }))
  app.mount('#app')
}

void start()
