// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Registry of devices (identified by their own key address), their owners and operators.
/// @notice Operators are the keys (e.g. a pbj engine) the owner allows to command the device.
contract DeviceRegistry {
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

    modifier onlyDeviceOwner(address device) {
        address owner = owners[device];
        if (owner == address(0)) revert UnknownDevice(device);
        if (owner != msg.sender) revert NotDeviceOwner(device, msg.sender);
        _;
    }

    /// @notice Registers `device` as owned by `owner`. Anyone may call; the caller gets no rights.
    function register(address device, address owner) external {
        if (device == address(0) || owner == address(0)) revert ZeroAddress();
        address current = owners[device];
        if (current != address(0)) revert AlreadyRegistered(device, current);
        owners[device] = owner;
        emit DeviceRegistered(device, owner);
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
