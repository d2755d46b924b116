export { installTossSimulator } from './simulator'
export type {
  BridgeCall,
  BridgeFunction,
  MethodFault,
  PurchaseScript,
  SimOrder,
  SimSubscription,
  SimulatorOptions,
  TossSimulator,
} from './simulator'
export { DEFAULT_PRODUCTS } from './catalogue'
