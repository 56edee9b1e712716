// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Multicall3 (aggregate3 only)
/// @notice Runs several calls in one: the `aggregate3` of the Multicall3 deployed at
///         0xcA11bde05977b3631167028862bE2a173976CA11 on most EVM chains, with the same ABI, so pbj batches
///         view calls the same way on its embedded chain (where it installs this code at that address) as on
///         a remote one.
contract Multicall3 {
    struct Call3 {
        address target;
        bool allowFailure;
        bytes callData;
    }

    struct Result {
        bool success;
        bytes returnData;
    }

    function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory returnData) {
        returnData = new Result[](calls.length);
        for (uint256 i = 0; i < calls.length; i++) {
            Call3 calldata call = calls[i];
            (bool success, bytes memory data) = call.target.call(call.callData);
            if (!success && !call.allowFailure) revert("Multicall3: call failed");
            returnData[i] = Result(success, data);
        }
    }

    function getBlockNumber() external view returns (uint256) {
        return block.number;
    }
}
