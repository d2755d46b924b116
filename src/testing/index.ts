export { installTossSimulator, POST_PAYMENT_ERROR_CODES } from './simulator.js'
export type {
  BridgeCall,
  BridgeFunction,
  MethodFault,
  PurchaseScript,
  SimOrder,
  SimSubscription,
  SimulatorOptions,
  TossSimulator,
} from './types.js'
export { DEFAULT_PRODUCTS } from './catalogue.js'
