// `vue-toss-iap/testing/server`: Node-only test helpers for the server half. Kept apart from
// `vue-toss-iap/testing`, which runs in the page.
export { createTestCertificates } from './certificates.js'
export { createTossMirror } from './tossMirror.js'
export type { TossMirror } from './tossMirror.js'
export type { PemPair, TestCertificates } from './certificates.js'
export {
  fromSimulatorOrder,
  koreanTime,
  registrationVerification,
  sendTossWebhook,
  startFakeTossPartnerApi,
  subscriptionLifecycle,
  subscriptionStatusChanged,
} from './partnerApi.js'
export type {
  FakeSubscriptionEvent,
  FakeSubscriptionSnapshot,
  FakeTossFault,
  FakeTossOrder,
  FakeTossPartnerApi,
  FakeTossPartnerApiOptions,
  FakeTossRequest,
} from './partnerApi.js'
export type { FakeLoginCall, FakeLoginFault, FakeLoginRequest, FakeTossLogin, FakeTossLoginOptions } from './fakeLogin.js'
export { readSimulatedAuthorizationCode, simulatedAuthorizationCode } from './loginCode.js'
export type { SimulatedLoginCode } from './loginCode.js'
