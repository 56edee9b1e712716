// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "./IERC20.sol";

/// @title Prepaid execution: projects deposit the stablecoin; the pbj operator settles metered usage in batches.
/// @notice A project has an owner and a balance. Its id is bound to its owner (`projectIdOf(owner, salt)`),
///         so nobody can open, and so own, a project id another account will use. Anyone may fund it; only the owner may
///         withdraw what is left. The operator (the pbj engine's key, fixed at construction) publishes prices
///         and debits batches of runs with `settle`, whose `usageRoot` anyone can recompute from pbj's run
///         history. Batches of one project must follow each other (`fromRun` = last `toRun` + 1), so a
///         replayed or overlapping settlement reverts instead of charging twice.
contract ExecutionBalance {
    /// @notice Prices in token units (6 decimals for tUSD, so "micros" of a dollar).
    struct Prices {
        uint256 perRunMicros;
        uint256 perMsMicros;
        uint256 perDeviceMessageMicros;
        /// @dev Added to the gas pbj paid for a run's transactions, in basis points (10000 = +100%).
        uint256 gasMarkupBps;
    }

    struct Project {
        address owner;
        uint256 balance;
        uint64 lastSettledRun;
        uint64 batches;
    }

    IERC20 public immutable token;
    address public immutable operator;
    Prices private current;
    mapping(bytes32 => Project) private projects;

    event ProjectOpened(bytes32 indexed projectId, address indexed owner);
    event Deposited(bytes32 indexed projectId, address indexed from, uint256 amount, uint256 balance);
    event Withdrawn(bytes32 indexed projectId, address indexed to, uint256 amount, uint256 balance);
    event PricesSet(uint256 perRunMicros, uint256 perMsMicros, uint256 perDeviceMessageMicros, uint256 gasMarkupBps);
    event Settled(
        bytes32 indexed projectId,
        uint64 indexed batchId,
        uint256 amount,
        bytes32 usageRoot,
        uint64 fromRun,
        uint64 toRun
    );

    error ZeroAddress();
    error NotOperator(address caller);
    error NotOwner(bytes32 projectId, address caller);
    error AlreadyOpened(bytes32 projectId, address owner);
    /// @notice No project has this id: its owner opens it first with openProject(salt).
    error UnknownProject(bytes32 projectId);
    error InsufficientBalance(bytes32 projectId, uint256 balance, uint256 needed);
    error OutOfOrder(bytes32 projectId, uint64 expectedFrom, uint64 fromRun, uint64 toRun);
    error TransferFailed(address from, address to, uint256 amount);

    constructor(IERC20 token_, address operator_) {
        if (address(token_) == address(0) || operator_ == address(0)) revert ZeroAddress();
        token = token_;
        operator = operator_;
    }

    /// @notice The id of `owner`'s project named `salt`: keccak256(abi.encode(owner, salt)).
    function projectIdOf(address owner, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(owner, salt));
    }

    /// @notice Opens the caller's project named `salt` (its id is projectIdOf(caller, salt)).
    function openProject(bytes32 salt) external returns (bytes32 projectId) {
        projectId = projectIdOf(msg.sender, salt);
        Project storage p = projects[projectId];
        if (p.owner != address(0)) revert AlreadyOpened(projectId, p.owner);
        p.owner = msg.sender;
        emit ProjectOpened(projectId, msg.sender);
    }

    /// @notice Pulls `amount` tokens from the caller into an opened project's balance. Anyone may fund a
    ///         project; only its owner may withdraw.
    function deposit(bytes32 projectId, uint256 amount) external {
        Project storage p = projects[projectId];
        if (p.owner == address(0)) revert UnknownProject(projectId);
        p.balance += amount;
        if (!token.transferFrom(msg.sender, address(this), amount)) {
            revert TransferFailed(msg.sender, address(this), amount);
        }
        emit Deposited(projectId, msg.sender, amount, p.balance);
    }

    /// @notice Sends `amount` of the unspent balance to `to`. Owner only.
    function withdraw(bytes32 projectId, uint256 amount, address to) external {
        Project storage p = projects[projectId];
        if (msg.sender != p.owner || p.owner == address(0)) revert NotOwner(projectId, msg.sender);
        if (to == address(0)) revert ZeroAddress();
        if (amount > p.balance) revert InsufficientBalance(projectId, p.balance, amount);
        p.balance -= amount;
        if (!token.transfer(to, amount)) revert TransferFailed(address(this), to, amount);
        emit Withdrawn(projectId, to, amount, p.balance);
    }

    /// @notice Publishes the prices pbj meters runs at. Operator only.
    function setPrices(uint256 perRunMicros, uint256 perMsMicros, uint256 perDeviceMessageMicros, uint256 gasMarkupBps)
        external
    {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        current = Prices(perRunMicros, perMsMicros, perDeviceMessageMicros, gasMarkupBps);
        emit PricesSet(perRunMicros, perMsMicros, perDeviceMessageMicros, gasMarkupBps);
    }

    /// @notice Debits the metered usage of runs `fromRun`..`toRun` (pbj's usage sequence numbers). Operator
    ///         only. `usageRoot` commits to the (run, amount) rows so the batch can be checked against pbj.
    function settle(bytes32 projectId, uint256 amount, bytes32 usageRoot, uint64 fromRun, uint64 toRun)
        external
        returns (uint64 batchId)
    {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        Project storage p = projects[projectId];
        if (p.owner == address(0)) revert UnknownProject(projectId);
        if (fromRun != p.lastSettledRun + 1 || toRun < fromRun) {
            revert OutOfOrder(projectId, p.lastSettledRun + 1, fromRun, toRun);
        }
        if (amount > p.balance) revert InsufficientBalance(projectId, p.balance, amount);
        p.balance -= amount;
        p.lastSettledRun = toRun;
        batchId = ++p.batches;
        // The tokens move to the operator: what it earned for the runs, and what it spent on their gas.
        if (amount > 0 && !token.transfer(operator, amount)) revert TransferFailed(address(this), operator, amount);
        emit Settled(projectId, batchId, amount, usageRoot, fromRun, toRun);
    }

    function balanceOf(bytes32 projectId) external view returns (uint256) {
        return projects[projectId].balance;
    }

    function ownerOf(bytes32 projectId) external view returns (address) {
        return projects[projectId].owner;
    }

    /// @notice The last run settled for the project (0: none); the next batch starts after it.
    function lastSettledRun(bytes32 projectId) external view returns (uint64) {
        return projects[projectId].lastSettledRun;
    }

    function prices() external view returns (Prices memory) {
        return current;
    }
}
