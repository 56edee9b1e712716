// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Bench-only stand-in for CarLoan that emits its loan events in bulk.
/// @notice The events are declared exactly as in CarLoan.sol, so the car-loan functions' deadline triggers
///         (examples/car-loan/lib/loanDeadline.ts) watch this contract as if it were CarLoan. Opening 100k
///         real loans through CarLoan (token approvals, wallets, policies) would take far longer than the
///         benchmark itself. The views the functions read answer "nothing to do", so a run that fires is a
///         short, successful one.
contract LoanFlood {
    /// @dev CarLoan's Loan struct, field for field, so `getLoan` decodes with CarLoan's ABI.
    struct Loan {
        address borrower;
        address car;
        address wallet;
        address lender;
        uint256 installment;
        uint64 period;
        uint64 grace;
        uint64 nextDueAt;
        uint256 outstanding;
    }

    /// @dev CarLoan's Policy struct, field for field, so `carStatus` decodes with CarLoan's ABI.
    struct Policy {
        uint64 warningPeriod;
        uint64 finalWarning;
        uint32 emergencyStarts;
        uint64 emergencyDuration;
    }

    event LoanOpened(
        uint256 indexed loanId,
        address indexed borrower,
        address indexed car,
        address wallet,
        address lender,
        uint256 installment,
        uint64 period,
        uint64 grace,
        uint256 outstanding,
        uint64 nextDueAt,
        uint64 lockAt,
        uint64 warnAt,
        uint64 finalWarningAt
    );
    event InstallmentPaid(
        uint256 indexed loanId,
        address indexed payer,
        uint256 amount,
        uint256 outstanding,
        uint64 nextDueAt,
        uint64 lockAt,
        uint64 warnAt,
        uint64 finalWarningAt
    );

    /// @notice Emits `count` LoanOpened events, for loans `firstLoanId`… with the given deadlines.
    function open(uint256 firstLoanId, uint256 count, uint64[4] calldata at) external {
        for (uint256 id = firstLoanId; id < firstLoanId + count; id++) {
            // The car (device id) is derived from the loan id: every loan has its own car.
            address car = address(uint160(id));
            emit LoanOpened(id, msg.sender, car, car, msg.sender, 1e18, 30 days, 7 days, 12e18, at[0], at[1], at[2], at[3]);
        }
    }

    /// @notice Emits one InstallmentPaid per loan id, re-arming its deadlines; `warnAts[i]` is loan i's warnAt.
    function pay(uint256[] calldata loanIds, uint64[] calldata warnAts, uint64 nextDueAt, uint64 lockAt, uint64 finalWarningAt)
        external
    {
        for (uint256 i = 0; i < loanIds.length; i++) {
            emit InstallmentPaid(loanIds[i], msg.sender, 1e18, 11e18, nextDueAt, lockAt, warnAts[i], finalWarningAt);
        }
    }

    /// @notice A current loan whose car is derived from its id (as in `open`): unlockOnPayment reads it.
    function getLoan(uint256 loanId) external view returns (Loan memory) {
        address car = address(uint160(loanId));
        return Loan(msg.sender, car, car, msg.sender, 1e18, 30 days, 7 days, uint64(block.timestamp + 30 days), 11e18);
    }

    /// @notice Stage 0 (current): warnOnMissedDueDate and finalWarningBeforeLock stop after this read.
    function stageOf(uint256) external pure returns (uint8) {
        return 0;
    }

    /// @notice Never delinquent: lockOnMissedPayment stops after this read.
    function isDelinquent(uint256) external pure returns (bool) {
        return false;
    }

    /// @notice Nothing payable: autopayWhenDue stops after its first reads.
    function isPayable(uint256) external pure returns (bool) {
        return false;
    }

    /// @notice No active loan for any car: the start-up interface probe (chain/probeContract.ts) asks this with
    ///         CarLoan's exact signature and return types, and a class that reads it sees nothing to do.
    function carStatus(address)
        external
        pure
        returns (
            uint256 loanId,
            uint8 stage,
            uint64 nextDueAt_,
            uint64 lockAt_,
            uint64 finalWarningAt_,
            Policy memory policy
        )
    {
        return (0, 0, 0, 0, 0, policy);
    }
}
