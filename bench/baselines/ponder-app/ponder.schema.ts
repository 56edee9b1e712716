import { onchainTable } from 'ponder'

/** What a Ponder user keeps anyway: the payments, indexed. The command goes out before the row is written. */
export const payment = onchainTable('payment', (t) => ({
  id: t.text().primaryKey(),
  loanId: t.bigint().notNull(),
  amount: t.bigint().notNull(),
  outstanding: t.bigint().notNull(),
}))
