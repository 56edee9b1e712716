// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SignatureChecker} from "./SignatureChecker.sol";

/// @title Registry of devices (identified by their own key address), their owners and operators.
/// @notice A device is registered only with a signature of the device's own key (proof of possession), so
///         nobody can claim a car whose key they do not hold. The owner controls the device's entry: who may
///         command it (operators, e.g. a pbj engine) and who may finance it (CarLoan asks the owner). The
///         signature is EIP-712 in pbj's domain: name "pbj", version "1", this chain, this registry, the
///         same domain the device's commands and reports are signed in.
contract DeviceRegistry {
    /// @notice What the device's key signs to be registered to `owner`, valid until `deadline` (unix s).
    bytes32 public constant REGISTRATION_TYPEHASH =
        keccak256("DeviceRegistration(address device,address owner,uint256 deadline)");

    /// @notice The owner of each registered device; zero when the device is unknown.
    mapping(address => address) public owners;
    mapping(address => mapping(address => bool)) private operators;

    event DeviceRegistered(address indexed device, address indexed owner);
    event OperatorAdded(address indexed device, address indexed operator);
    event OperatorRemoved(address indexed device, address indexed operator);

    error ZeroAddress();
    error AlreadyRegistered(address device, address owner);
    error UnknownDevice(address device);
    error NotDeviceOwner(address device, address caller);
    /// @notice The registration was signed for another owner, another chain or registry, or not by the device.
    error BadDeviceSignature(address device);
    error RegistrationExpired(address device, uint256 deadline);

    modifier onlyDeviceOwner(address device) {
        address owner = owners[device];
        if (owner == address(0)) revert UnknownDevice(device);
        if (owner != msg.sender) revert NotDeviceOwner(device, msg.sender);
        _;
    }

    /// @notice Registers `device` as owned by `owner`, with the device's own EIP-712 signature of
    ///         DeviceRegistration(device, owner, deadline). Anyone may submit it; only the device's key can make it.
    function register(address device, address owner, uint256 deadline, bytes calldata deviceSignature) external {
        if (device == address(0) || owner == address(0)) revert ZeroAddress();
        address current = owners[device];
        if (current != address(0)) revert AlreadyRegistered(device, current);
        if (block.timestamp > deadline) revert RegistrationExpired(device, deadline);
        bytes32 digest = registrationDigest(device, owner, deadline);
        if (!SignatureChecker.isValidSignatureNow(device, digest, deviceSignature)) revert BadDeviceSignature(device);
        owners[device] = owner;
        emit DeviceRegistered(device, owner);
    }

    /// @notice The EIP-712 digest a device signs to be registered to `owner`.
    function registrationDigest(address device, address owner, uint256 deadline) public view returns (bytes32) {
        bytes32 structHash = keccak256(abi.encode(REGISTRATION_TYPEHASH, device, owner, deadline));
        return keccak256(abi.encodePacked("\x19\x01", DOMAIN_SEPARATOR(), structHash));
    }

    /// @notice pbj's EIP-712 domain on this chain and registry.
    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        return SignatureChecker.domainSeparator(keccak256("pbj"), address(this));
    }

    /// @notice Allows `operator` to command `device`. Only the device's owner; a no-op if already allowed.
    function addOperator(address device, address operator) external onlyDeviceOwner(device) {
        if (operator == address(0)) revert ZeroAddress();
        if (operators[device][operator]) return;
        operators[device][operator] = true;
        emit OperatorAdded(device, operator);
    }

    /// @notice Revokes `operator` on `device`. Only the device's owner; a no-op if not an operator.
    function removeOperator(address device, address operator) external onlyDeviceOwner(device) {
        if (!operators[device][operator]) return;
        operators[device][operator] = false;
        emit OperatorRemoved(device, operator);
    }

    function isOperator(address device, address operator) external view returns (bool) {
        return operators[device][operator];
    }
}
