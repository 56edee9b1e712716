import { ponder } from 'ponder:registry'
import { payment } from 'ponder:schema'
import mqtt from 'mqtt'

// One connection for the app's lifetime, default options: how a Ponder user would add MQTT to a handler.
// pbj's embedded broker lets only the engine publish commands: the bench hands this baseline its login.
const login = process.env.PBJ_BENCH_BROKER_LOGIN ? JSON.parse(process.env.PBJ_BENCH_BROKER_LOGIN) : {}
const broker = mqtt.connect(process.env.PBJ_BENCH_BROKER_URL ?? '', login)
const topicPrefix = process.env.PBJ_BENCH_TOPIC_PREFIX ?? ''

ponder.on('CarLoan:InstallmentPaid', async ({ event, context }) => {
  // Wall-clock ms with sub-ms precision, comparable with the bench process's clock (same machine).
  const handlerAt = performance.timeOrigin + performance.now()
  const { loanId, amount, outstanding } = event.args
  broker.publish(
    `${topicPrefix}/${loanId}/command`,
    JSON.stringify({ unlock: true, loanId: String(loanId), tx: event.transaction.hash, handlerAt }),
  )
  await context.db.insert(payment).values({ id: event.id, loanId, amount, outstanding })
})
