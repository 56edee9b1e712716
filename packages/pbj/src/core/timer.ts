/** A chain-time timer (deadline key or schedule), fired in the first block whose timestamp reaches `at`. */
export type Timer = { id: string; functionName: string; key: string; at: bigint }
