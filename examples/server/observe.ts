import { combineEventListeners, type ServerEvent, type ServerEventListener } from 'vue-toss-iap/server'
import { createOpenTelemetryListener } from 'vue-toss-iap/server/otel'

type Level = 'debug' | 'info' | 'warn' | 'error'

function levelOf(event: ServerEvent): Level {
  switch (event.type) {
    case 'toss.attempt':
      return 'debug'
    case 'fulfilment.refused':
    case 'entitlements.refused':
      return event.httpStatus >= 500 ? 'error' : 'info'
    case 'toss.call':
      return event.code === null ? 'debug' : 'warn'
    case 'toss.retry':
    case 'toss.rotate':
    case 'webhook.lost':
    case 'reconcile.rate-limited':
      return 'warn'
    case 'webhook.failed':
    case 'reconcile.failed':
      return 'error'
    case 'health.checked':
      return event.healthy ? 'debug' : 'error'
    default:
      return 'info'
  }
}

/** One JSON line per event: no key, token, user key or user id is in any event. */
export function jsonLines(write = (line: string) => void process.stdout.write(line)): ServerEventListener {
  return (event) => write(`${JSON.stringify({ time: new Date().toISOString(), level: levelOf(event), ...event })}\n`)
}

/** Logs and metrics from one `onEvent`: pass it to every factory. */
export async function createObserver(): Promise<ServerEventListener> {
  return combineEventListeners(jsonLines(), await createOpenTelemetryListener())
}
