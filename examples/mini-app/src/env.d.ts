/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Your app server's absolute URL, e.g. https://api.example.com (the page is served from a Toss-hosted origin). */
  readonly VITE_API_URL: string
}
