// The privacy rule of ServerEvent, held by the type: no event may ever grow a field for a user, a
// user key or key material (a new field with such a name fails `npm run typecheck`).
import { expectTypeOf } from 'vitest'
import type { ServerErrorCode, ServerEvent, ServerEventType } from '../../src/server/index.ts'

type AnyKey = ServerEvent extends infer E ? (E extends unknown ? keyof E : never) : never

expectTypeOf<
  Extract<AnyKey, 'userId' | 'userKey' | 'user' | 'cert' | 'key' | 'passphrase' | 'token' | 'credential' | 'authorization'>
>().toBeNever()

// Narrowing by `type` gives each event its own fields.
expectTypeOf<Extract<ServerEvent, { type: 'fulfilment.refused' }>['code']>().toEqualTypeOf<ServerErrorCode>()
expectTypeOf<Extract<ServerEvent, { type: 'fulfilment.refused' }>['orderId']>().toEqualTypeOf<string | null>()
expectTypeOf<'webhook.lost'>().toExtend<ServerEventType>()
