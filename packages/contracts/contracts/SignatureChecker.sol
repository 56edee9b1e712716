// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice ERC-1271: how a contract account (a multisig, a smart wallet) says a signature is its own.
interface IERC1271 {
    function isValidSignature(bytes32 digest, bytes calldata signature) external view returns (bytes4);
}

/// @title Checks that `signer` signed an EIP-712 digest: an EOA by ECDSA, a contract account by ERC-1271.
/// @notice One home for the consent checks of DeviceRegistry and CarLoan. Rejects malleable (high-s)
///         signatures and the zero address, so a signature cannot be altered into a second valid one and a
///         failed `ecrecover` never matches an unset field.
library SignatureChecker {
    /// @dev secp256k1n / 2: signatures with a larger `s` are the malleable twins of valid ones (EIP-2).
    uint256 private constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    function isValidSignatureNow(address signer, bytes32 digest, bytes calldata signature)
        internal
        view
        returns (bool)
    {
        if (signer == address(0)) return false;
        if (signer.code.length > 0) {
            (bool ok, bytes memory result) =
                signer.staticcall(abi.encodeCall(IERC1271.isValidSignature, (digest, signature)));
            return ok && result.length >= 32 && abi.decode(result, (bytes4)) == IERC1271.isValidSignature.selector;
        }
        if (signature.length != 65) return false;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) return false;
        address recovered = ecrecover(digest, v, r, s);
        return recovered != address(0) && recovered == signer;
    }

    /// @notice The EIP-712 domain separator for `name`, version "1", this chain and `verifyingContract`;
    ///         computed per call so a signature made for another chain (a fork) does not verify.
    function domainSeparator(bytes32 nameHash, address verifyingContract) internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                nameHash,
                keccak256("1"),
                block.chainid,
                verifyingContract
            )
        );
    }
}
