import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import { toNodeListener } from 'vue-toss-iap/server'
import type { IapHandlers } from './iap.js'

type Handler = (request: Request) => Promise<Response>

/** Hands the raw Node request and response to a handler; Fastify stays out of the answer. */
const mount = (handler: Handler) => {
  const listener = toNodeListener(handler)
  return (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack()
    listener(request.raw, reply.raw)
  }
}

export function createFastifyApp(iap: IapHandlers) {
  const app = Fastify()
  app.register(async (scope) => {
    // In this scope Fastify leaves every body unread (any Content-Type): the handlers read it.
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null))
    scope.route({ method: ['POST', 'OPTIONS'], url: '/iap/fulfil', handler: mount(iap.fulfil) })
    scope.route({ method: ['GET', 'OPTIONS'], url: '/iap/entitlements', handler: mount(iap.entitlements) })
    scope.post('/toss/subscriptions', mount(iap.subscriptions))
    scope.get('/healthz', mount(iap.health))
  })
  // Outside that scope Fastify parses JSON as usual.
  app.post('/api/echo', async (request) => ({ received: request.body }))
  return app
}
