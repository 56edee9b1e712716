// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "./IERC20.sol";

/// @title Car loans paid in fixed installments; a loan is delinquent once a due date plus grace passes.
/// @notice pbj watches these events and locks the car (`Loan.car`, a device address) when `lockAt` passes
///         with an installment unpaid.
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

    IERC20 public immutable token;
    /// @notice Number of loans opened; ids run from 1 to loanCount.
    uint256 public loanCount;
    mapping(uint256 => Loan) private loans;
    /// @notice The latest loan opened for a car (device id); 0 when none.
    mapping(address => uint256) public loanOfCar;

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
        uint64 lockAt
    );
    event InstallmentPaid(
        uint256 indexed loanId, address indexed payer, uint256 amount, uint256 outstanding, uint64 nextDueAt, uint64 lockAt
    );
    event LoanRepaid(uint256 indexed loanId);

    error UnknownLoan(uint256 loanId);
    error NothingOutstanding(uint256 loanId);
    error ZeroAddress();
    error ZeroInstallment();
    error ZeroPeriod();
    error ZeroInstallments();
    error TransferFailed(address from, address to, uint256 amount);

    constructor(IERC20 token_) {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
    }

    /// @notice Opens a loan lent by the caller: `installments` payments of `installment`, the first due at
    ///         `firstDueAt`, then every `period` seconds; the car may be locked `grace` seconds after a due date.
    function openLoan(
        address borrower,
        address car,
        address wallet,
        uint256 installment,
        uint64 period,
        uint64 grace,
        uint32 installments,
        uint64 firstDueAt
    ) external returns (uint256 loanId) {
        if (borrower == address(0) || car == address(0) || wallet == address(0)) revert ZeroAddress();
        if (installment == 0) revert ZeroInstallment();
        if (period == 0) revert ZeroPeriod();
        if (installments == 0) revert ZeroInstallments();
        // Checked: reverts on overflow rather than opening a loan whose lock time wraps around.
        uint64 firstLockAt = firstDueAt + grace;
        uint256 outstanding = installment * installments;

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
            outstanding: outstanding
        });
        loanOfCar[car] = loanId;
        emit LoanOpened(
            loanId, borrower, car, wallet, msg.sender, installment, period, grace, outstanding, firstDueAt, firstLockAt
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
        emit InstallmentPaid(loanId, msg.sender, amount, loan.outstanding, due, due + loan.grace);
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

    function _loan(uint256 loanId) private view returns (Loan storage) {
        if (loanId == 0 || loanId > loanCount) revert UnknownLoan(loanId);
        return loans[loanId];
    }
}
