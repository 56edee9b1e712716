import { deviceRegistryAbi, deviceRegistryBytecode } from '@pbj/contracts/artifacts'
import {
  type DesiredMessage,
  type DesiredState,
  type DeviceChainOptions,
  type PbjDomain,
  pbjDomain,
  type UnsignedCommand,
} from '@pbj/device'
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  type Hash,
  type Hex,
  http,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount, privateKeyToAddress } from 'viem/accounts'
import { type CommandSigner, createCommandSigner } from '#pbj/actions/devices/createCommandSigner.js'
import { type AnvilNode, startAnvil } from '#pbj/chain/startAnvil.js'
import { demoAccounts } from '#pbj/demo/accounts.js'
import { signDeviceRegistration } from '#pbj/demo/signConsents.js'

/**
 * A device registered in the fixture's DeviceRegistry: its key, and its id (the key's address, lowercase).
 *
 * @example
 * const { deviceId, deviceKey }: RegisteredDevice = await registry.newDevice()
 */
export type RegisteredDevice = { deviceId: string; deviceKey: Hex }

/**
 * A real Anvil with a DeviceRegistry, the demo's owner and operator accounts, and helpers to register cars
 * and sign commands for them as the engine does. For tests and benches of command authentication.
 *
 * @example
 * const registry = await startRegistry()
 * const car = await registry.newDevice()
 * const message = registry.sign({ deviceId: car.deviceId, version: 1, state: { locked: true } })
 * await registry.stop()
 */
export async function startRegistry() {
  const anvil: AnvilNode = await startAnvil()
  try {
    const chain = defineChain({
      id: anvil.chainId,
      name: 'anvil',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [anvil.rpcUrl] } },
    })
    const transport = http(anvil.rpcUrl)
    const pub = createPublicClient({ chain, transport, pollingInterval: 20 })
    const wallet = (key: Hex) => createWalletClient({ chain, transport, account: privateKeyToAccount(key) })
    const lender = wallet(demoAccounts.lender.privateKey)
    const owner = wallet(demoAccounts.owner.privateKey)
    const confirm = async (hash: Hash) => {
      const receipt = await pub.waitForTransactionReceipt({ hash })
      if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`)
      return receipt
    }
    const deployed = await confirm(
      await lender.deployContract({ abi: deviceRegistryAbi, bytecode: deviceRegistryBytecode }),
    )
    const registry = getAddress(deployed.contractAddress as Hex)
    const domain: PbjDomain = pbjDomain({ chainId: anvil.chainId, registry })
    const operator = demoAccounts.operator
    const signer: CommandSigner = createCommandSigner({ operatorKey: operator.privateKey, domain })
    const writeRegistry = async (functionName: 'addOperator' | 'removeOperator', args: readonly [Hex, Hex]) =>
      confirm(await owner.writeContract({ address: registry, abi: deviceRegistryAbi, functionName, args }))

    return {
      anvil,
      /** What a car needs to verify commands (DeviceAgentOptions.chain). */
      chain: { rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, registry } satisfies DeviceChainOptions,
      domain,
      registry,
      operator,
      /** The engine's signer: the operator key, in this chain's domain. */
      signer,
      /** Registers a fresh device key (owner = the demo owner) with the operator allowed, unless told not to. */
      async newDevice(options: { operator?: boolean } = {}): Promise<RegisteredDevice> {
        const deviceKey = generatePrivateKey()
        const address = privateKeyToAddress(deviceKey)
        // Proof of possession: the device's own key signs its registration to the owner.
        const { deadline, signature } = await signDeviceRegistration({
          devicePrivateKey: deviceKey,
          owner: demoAccounts.owner.address,
          chainId: anvil.chainId,
          registry,
          now: (await pub.getBlock({ blockTag: 'latest' })).timestamp,
        })
        await confirm(
          await owner.writeContract({
            address: registry,
            abi: deviceRegistryAbi,
            functionName: 'register',
            args: [address, demoAccounts.owner.address, deadline, signature],
          }),
        )
        if (options.operator !== false) await writeRegistry('addOperator', [address, operator.address])
        return { deviceId: address.toLowerCase(), deviceKey }
      },
      addOperator: (deviceId: string, who: Hex = operator.address) =>
        writeRegistry('addOperator', [deviceId as Hex, who]),
      removeOperator: (deviceId: string, who: Hex = operator.address) =>
        writeRegistry('removeOperator', [deviceId as Hex, who]),
      /** The chain's latest block timestamp (unix seconds): what a command of the next block carries. */
      chainTime: async () => Number((await pub.getBlock({ blockTag: 'latest' })).timestamp),
      /**
       * Signs one command (a batch of one) as the engine does; `commandId` defaults to `cmd-<version>`,
       * `chainTime` to 0, `with` (e.g. another signer) to the operator.
       */
      sign(
        command: Pick<UnsignedCommand, 'deviceId' | 'version'> & {
          state: DesiredState
          commandId?: string
          chainTime?: number
        },
        options: { with?: CommandSigner; now?: number } = {},
      ): DesiredMessage {
        const [message] = (options.with ?? signer).sign(
          [
            {
              deviceId: command.deviceId.toLowerCase(),
              version: command.version,
              commandId: command.commandId ?? `cmd-${command.version}`,
              state: command.state,
              chainTime: command.chainTime ?? 0,
            },
          ],
          options.now,
        )
        return message as DesiredMessage
      },
      stop: () => anvil.stop(),
    }
  } catch (error) {
    await anvil.stop()
    throw error
  }
}

/**
 * A started registry fixture.
 *
 * @example
 * let registry: RegistryFixture
 * beforeAll(async () => { registry = await startRegistry() })
 */
export type RegistryFixture = Awaited<ReturnType<typeof startRegistry>>
