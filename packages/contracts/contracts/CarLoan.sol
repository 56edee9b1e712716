// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "./IERC20.sol";

/// @title Car loans paid in fixed installments; a loan is delinquent once a due date plus grace passes.
/// @notice pbj watches these events and locks the car (`Loan.car`, a device address) when `lockAt` passes
///         with an installment unpaid. Before that the car warns: from the missed due date (`warnAt`), and
///         finally from `finalWarningAt`. The immobilizer policy each loan carries (`policyOf`) is what the
///         car enforces; it lives here so the borrower can read it (California Civil Code §2983.37).
contract CarLoan {
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

    /// @notice How the car's starter interrupt may be used against the borrower, fixed when the loan opens.
    /// @param warningPeriod Seconds the car must show a warning before it may be disabled; the warning stage
    ///        starts at the missed due date, so it is at most `grace`.
    /// @param finalWarning Seconds before `lockAt` the final warning starts; at least 48 hours.
    /// @param emergencyStarts Emergency restarts the borrower may use per delinquency; at least 1.
    /// @param emergencyDuration Seconds each emergency restart keeps the car startable; at least 24 hours.
    struct Policy {
        uint64 warningPeriod;
        uint64 finalWarning;
        uint32 emergencyStarts;
        uint64 emergencyDuration;
    }

    /// @notice The shortest final warning and emergency restart the law allows (Cal. Civ. Code §2983.37).
    uint64 public constant MIN_FINAL_WARNING = 48 hours;
    uint64 public constant MIN_EMERGENCY_DURATION = 24 hours;

    IERC20 public immutable token;
    /// @notice Number of loans opened; ids run from 1 to loanCount.
    uint256 public loanCount;
    mapping(uint256 => Loan) private loans;
    /// @notice The latest loan opened for a car (device id); 0 when none.
    mapping(address => uint256) public loanOfCar;
    mapping(uint256 => Policy) private policies;

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
    /// @dev `warnAt` is the new due date (if it is missed, the warning stage starts then) and `finalWarningAt`
    ///      = `lockAt` - `finalWarning`: the times pbj's deadline triggers key the car's warnings on.
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
    event LoanRepaid(uint256 indexed loanId);

    error UnknownLoan(uint256 loanId);
    error NothingOutstanding(uint256 loanId);
    error ZeroAddress();
    error ZeroInstallment();
    error ZeroPeriod();
    error ZeroInstallments();
    error TransferFailed(address from, address to, uint256 amount);
    /// @notice The policy breaks a rule: 48 h <= finalWarning <= warningPeriod <= grace, emergencyStarts >= 1,
    ///         emergencyDuration >= 24 h.
    error InvalidPolicy(string rule);

    constructor(IERC20 token_) {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
    }

    /// @notice Opens a loan lent by the caller: `installments` payments of `installment`, the first due at
    ///         `firstDueAt`, then every `period` seconds; the car may be locked `grace` seconds after a due date,
    ///         under the immobilizer `policy` (fixed for the life of the loan).
    function openLoan(
        address borrower,
        address car,
        address wallet,
        uint256 installment,
        uint64 period,
        uint64 grace,
        uint32 installments,
        uint64 firstDueAt,
        Policy calldata policy
    ) external returns (uint256 loanId) {
        if (borrower == address(0) || car == address(0) || wallet == address(0)) revert ZeroAddress();
        if (installment == 0) revert ZeroInstallment();
        if (period == 0) revert ZeroPeriod();
        if (installments == 0) revert ZeroInstallments();
        _checkPolicy(policy, grace);
        // Checked: reverts on overflow rather than opening a loan whose lock time wraps around.
        uint64 firstLockAt = firstDueAt + grace;

        loanId = ++loanCount;
        loans[loanId] = Loan({
            borrower: borrower,
            car: car,
            wallet: wallet,
            lender: msg.sender,
            installment: installment,
            period: period,
            grace: grace,
            nextDueAt: firstDueAt,
            outstanding: installment * installments
        });
        loanOfCar[car] = loanId;
        policies[loanId] = policy;
        _emitOpened(loanId, firstDueAt, firstLockAt, firstLockAt - policy.finalWarning);
    }

    /// @dev Apart from openLoan, whose parameters alone fill most of the stack.
    function _emitOpened(uint256 loanId, uint64 dueAt, uint64 lockAt_, uint64 finalAt) private {
        Loan storage loan = loans[loanId];
        emit LoanOpened(
            loanId,
            loan.borrower,
            loan.car,
            loan.wallet,
            loan.lender,
            loan.installment,
            loan.period,
            loan.grace,
            loan.outstanding,
            dueAt,
            lockAt_,
            dueAt,
            finalAt
        );
    }

    /// @notice Pays one installment (or the smaller remainder) from the caller's tokens to the lender and moves
    ///         the due date one period on. Anyone may pay; paying ahead of time is allowed.
    function payInstallment(uint256 loanId) external {
        Loan storage loan = _loan(loanId);
        uint256 owed = loan.outstanding;
        if (owed == 0) revert NothingOutstanding(loanId);
        uint256 amount = loan.installment < owed ? loan.installment : owed;
        // State first, transfer after: a token calling back in sees the loan already advanced.
        loan.outstanding = owed - amount;
        uint64 due = loan.nextDueAt + loan.period;
        loan.nextDueAt = due;
        if (!token.transferFrom(msg.sender, loan.lender, amount)) {
            revert TransferFailed(msg.sender, loan.lender, amount);
        }
        uint64 lockAt_ = due + loan.grace;
        emit InstallmentPaid(
            loanId, msg.sender, amount, loan.outstanding, due, lockAt_, due, lockAt_ - policies[loanId].finalWarning
        );
        if (loan.outstanding == 0) emit LoanRepaid(loanId);
    }

    function getLoan(uint256 loanId) external view returns (Loan memory) {
        return _loan(loanId);
    }

    /// @notice True when money is owed and the current due date plus grace has passed: the car may be locked.
    function isDelinquent(uint256 loanId) external view returns (bool) {
        Loan storage loan = _loan(loanId);
        return loan.outstanding > 0 && block.timestamp >= uint256(loan.nextDueAt) + loan.grace;
    }

    /// @notice Whether the car's latest loan is delinquent: what pbj re-reads before any lock goes out.
    function isCarDelinquent(address car) external view returns (bool) {
        uint256 loanId = loanOfCar[car];
        if (loanId == 0) return false;
        Loan storage loan = loans[loanId];
        return loan.outstanding > 0 && block.timestamp >= uint256(loan.nextDueAt) + loan.grace;
    }

    /// @notice True when the current period's installment can be paid (due within one period from now).
    function isPayable(uint256 loanId) external view returns (bool) {
        Loan storage loan = _loan(loanId);
        return loan.outstanding > 0 && block.timestamp + loan.period >= loan.nextDueAt;
    }

    function nextDueAt(uint256 loanId) external view returns (uint64) {
        return _loan(loanId).nextDueAt;
    }

    /// @notice When the car may be locked if the next installment stays unpaid: nextDueAt + grace.
    function lockAt(uint256 loanId) external view returns (uint64) {
        Loan storage loan = _loan(loanId);
        return loan.nextDueAt + loan.grace;
    }

    /// @notice The loan's immobilizer policy: what the car enforces before and after it may be disabled.
    function policyOf(uint256 loanId) external view returns (Policy memory) {
        _loan(loanId);
        return policies[loanId];
    }

    /// @notice When the final warning starts if the next installment stays unpaid: lockAt - finalWarning.
    function finalWarningAt(uint256 loanId) external view returns (uint64) {
        Loan storage loan = _loan(loanId);
        return loan.nextDueAt + loan.grace - policies[loanId].finalWarning;
    }

    /// @notice Where the loan stands now, as the car should show it: 0 current, 1 warning (a due date is
    ///         missed), 2 final warning (from finalWarningAt), 3 disable (from lockAt, i.e. delinquent).
    function stageOf(uint256 loanId) external view returns (uint8) {
        Loan storage loan = _loan(loanId);
        if (loan.outstanding == 0 || block.timestamp < loan.nextDueAt) return 0;
        uint256 lockAt_ = uint256(loan.nextDueAt) + loan.grace;
        if (block.timestamp >= lockAt_) return 3;
        if (block.timestamp >= lockAt_ - policies[loanId].finalWarning) return 2;
        return 1;
    }

    function _checkPolicy(Policy calldata policy, uint64 grace) private pure {
        if (policy.finalWarning < MIN_FINAL_WARNING) revert InvalidPolicy("finalWarning >= 48 hours");
        if (policy.warningPeriod < policy.finalWarning) revert InvalidPolicy("warningPeriod >= finalWarning");
        if (policy.warningPeriod > grace) revert InvalidPolicy("warningPeriod <= grace");
        if (policy.emergencyStarts == 0) revert InvalidPolicy("emergencyStarts >= 1");
        if (policy.emergencyDuration < MIN_EMERGENCY_DURATION) revert InvalidPolicy("emergencyDuration >= 24 hours");
    }

    function _loan(uint256 loanId) private view returns (Loan storage) {
        if (loanId == 0 || loanId > loanCount) revert UnknownLoan(loanId);
        return loans[loanId];
    }
}
