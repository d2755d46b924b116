export { installTossSimulator } from './simulator.js'
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
