/**
 * What `import { defineFunction } from 'pbj'` resolves to inside a bundled function. It is bundled into
 * the sandbox, so it imports nothing: the real `defineFunction` carries only types, and at run time both
 * are the identity.
 *
 * @example
 * // functions/lock.ts, bundled by bundleFunction
 * import { defineFunction } from 'pbj'
 * export default defineFunction({ trigger: { type: 'blocks', every: 10 }, handler() {} })
 */
export function defineFunction<definition>(definition: definition): definition {
  return definition
}
