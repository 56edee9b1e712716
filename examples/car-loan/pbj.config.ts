import { defineConfig, immobilizerClass } from 'pbj'

// The demo fills in the contracts it deploys (CarLoan, CarWallet…) and runs on embedded Anvil and MQTT.
// Set rpcUrl / brokerUrl here to run the same functions against your own node and broker.
export default defineConfig({
  functions: 'functions',
  limits: { timeoutMs: 2000, memoryMb: 64 },
  // The cars are immobilizers under CarLoan: every command to one passes its one active loan at the newest
  // block (lock only while delinquent, unlock only while not, warn only while a due date is missed).
  deviceClass: immobilizerClass({ contract: 'CarLoan' }),
})
