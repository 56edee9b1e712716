/**
 * A URL as it may be shown where anyone can read it (/readyz, logs): scheme, host and port only. RPC
 * providers put API keys in the path (`…/v3/<key>`) and brokers take `user:password@`; neither belongs
 * in a health report served over plain HTTP.
 *
 * @example
 * urlOrigin('https://mainnet.infura.io/v3/abc123') // 'https://mainnet.infura.io'
 * urlOrigin('mqtt://pbj:secret@broker:1883') // 'mqtt://broker:1883'
 */
export function urlOrigin(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}`
  } catch {
    return '(an unparsable URL)'
  }
}

/**
 * Text with every URL in it cut to its origin (see {@link urlOrigin}): error messages name the URL they
 * failed on, whole.
 *
 * @example
 * withUrlOrigins('No answer from https://rpc.example/v3/key within 10000 ms') // '… https://rpc.example within …'
 */
export function withUrlOrigins(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"`<>()]+/gi, (url) => urlOrigin(url))
}
