/**
 * What a config file gets from `import … from 'pbj'`: the identity helper and the device classes. Bundled
 * into the config (pbj itself may be TypeScript source), so everything here must import only JavaScript
 * packages (viem), never `@pbj/*` sources.
 */
export { immobilizerClass } from '../deviceClasses/immobilizer/immobilizerClass.js'
export { defineConfig } from './defineConfig.js'
