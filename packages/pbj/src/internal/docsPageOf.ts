/**
 * Which docs page holds each section an error's `docsPath` may name. Errors name a section by its anchor
 * alone (`'#capabilities'`), as when the docs were one README; this table says where that section lives
 * now, so moving a section is an edit here and not at every call site. Covers every section of the old
 * README; docsPageOf.test.ts checks each anchor is a heading of its page and that every `docsPath` in
 * the sources is in this table.
 */
export const docsPageOf: Readonly<Record<string, string>> = {
  '#writing-a-function': 'docs/functions.md',
  '#ctx': 'docs/functions.md',
  '#capabilities': 'docs/functions.md',
  '#triggers': 'docs/triggers.md',
  '#confirmations-reorgs-and-retries': 'docs/triggers.md',
  '#transactions-ctxchainwrite': 'docs/transactions.md',
  '#prepaid-execution': 'docs/payment.md',
  '#devices-and-mqtt-topics': 'docs/devices.md',
  '#signed-commands-and-reports': 'docs/devices.md',
  '#locking-the-broker-down-mosquitto-acls': 'docs/devices.md',
  '#every-command-passes-the-chain-device-classes': 'docs/devices.md',
  '#trust-model-who-may-do-what': 'docs/devices.md',
  '#contracts': 'docs/devices.md',
  '#reconciliation': 'docs/devices.md',
  '#deep-reorg': 'docs/devices.md',
  '#commands': 'docs/operations.md',
  '#config-reference': 'docs/operations.md',
  '#exactly-once-in-effect': 'docs/operations.md',
  '#health-and-metrics': 'docs/operations.md',
}

/**
 * The link an error prints under `Docs:` for its `docsPath`: an anchor is looked up in
 * {@link docsPageOf}; a path that already names its page (`'docs/payment.md#…'`) is kept as it is; an
 * anchor the table does not know falls back to the README.
 *
 * @example
 * docsLinkOf('#capabilities') // 'docs/functions.md#capabilities'
 */
export function docsLinkOf(docsPath: string): string {
  if (!docsPath.startsWith('#')) return docsPath
  return `${docsPageOf[docsPath] ?? 'README.md'}${docsPath}`
}
