import { createPinia } from 'pinia'
import { createApp } from 'vue'
import { createTossIap, grantViaEndpoint } from 'vue-toss-iap'
import App from './App.vue'

// Your app server, by absolute URL: in the Toss app the page comes from a Toss-hosted origin, so a
// relative URL would reach Toss's host, not your server. .env.development and .env.production set it.
const API = import.meta.env.VITE_API_URL
// The session token your server gave after Toss login (appLogin → your server → userKey).
const token = () => sessionStorage.getItem('token') ?? ''

const app = createApp(App)
app.use(createPinia())
app.use(
  createTossIap({
    grant: grantViaEndpoint(`${API}/api/iap/fulfill`, {
      headers: () => ({ Authorization: `Bearer ${token()}` }), // read before each request
      credentials: 'include',
    }),
  }),
)
app.mount('#app')
