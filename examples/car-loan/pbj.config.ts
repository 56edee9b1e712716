import { defineConfig } from 'pbj'

// The demo fills in the contracts it deploys (CarLoan, CarWallet…) and runs on embedded Anvil and MQTT.
// Set rpcUrl / brokerUrl here to run the same functions against your own node and broker.
export default defineConfig({
  functions: 'functions',
  limits: { timeoutMs: 2000, memoryMb: 64 },
})
