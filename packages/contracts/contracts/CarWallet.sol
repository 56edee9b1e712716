// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "./IERC20.sol";
import {CarLoan} from "./CarLoan.sol";

/// @title The car's own wallet: holds stablecoins and pays the car's loan installments as they fall due.
/// @notice Anyone may reload it; each reload (and `payDue`, which a keeper may call) pays every installment
///         that is payable while the balance covers it. A balance below one installment is simply held.
contract CarWallet {
    /// @notice Upper bound on installments paid per call, so a call's gas stays bounded.
    uint256 public constant MAX_PAYMENTS_PER_CALL = 12;

    IERC20 public immutable token;
    address public immutable owner;
    CarLoan public loan;
    uint256 public loanId;

    event LoanBound(address indexed loan, uint256 indexed loanId);
    event Reloaded(address indexed from, uint256 amount, uint256 balance);
    event Paid(uint256 indexed loanId, uint256 amount);
    event Withdrawn(address indexed to, uint256 amount);

    error NotOwner(address caller);
    error ZeroAddress();
    error TokenMismatch(address expected, address actual);
    error TransferFailed(address from, address to, uint256 amount);
    error ApproveFailed(address spender);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    constructor(IERC20 token_, address owner_) {
        if (address(token_) == address(0) || owner_ == address(0)) revert ZeroAddress();
        token = token_;
        owner = owner_;
    }

    /// @notice Sets the loan this wallet pays and lets the loan contract pull the wallet's tokens.
    function bindLoan(CarLoan loan_, uint256 loanId_) external onlyOwner {
        if (address(loan_.token()) != address(token)) revert TokenMismatch(address(token), address(loan_.token()));
        loan_.getLoan(loanId_); // reverts UnknownLoan for an id that does not exist
        CarLoan previous = loan;
        if (address(previous) != address(0) && address(previous) != address(loan_)) {
            // The old loan contract must not keep pulling from this wallet.
            if (!token.approve(address(previous), 0)) revert ApproveFailed(address(previous));
        }
        loan = loan_;
        loanId = loanId_;
        if (!token.approve(address(loan_), type(uint256).max)) revert ApproveFailed(address(loan_));
        emit LoanBound(address(loan_), loanId_);
    }

    /// @notice Pulls `amount` tokens from the caller, then pays what is due. Returns the installments paid.
    function reload(uint256 amount) external returns (uint256 paid) {
        if (amount > 0 && !token.transferFrom(msg.sender, address(this), amount)) {
            revert TransferFailed(msg.sender, address(this), amount);
        }
        emit Reloaded(msg.sender, amount, token.balanceOf(address(this)));
        return _payDue();
    }

    /// @notice Pays every payable installment the balance covers. Anyone may call (on-time autopay keeper).
    function payDue() external returns (uint256 paid) {
        return _payDue();
    }

    function withdraw(address to, uint256 amount) external onlyOwner {
        if (to == address(0)) revert ZeroAddress();
        if (!token.transfer(to, amount)) revert TransferFailed(address(this), to, amount);
        emit Withdrawn(to, amount);
    }

    function _payDue() private returns (uint256 paid) {
        CarLoan bound = loan;
        // Before a loan is bound the wallet just holds what it is given.
        if (address(bound) == address(0)) return 0;
        uint256 id = loanId;
        while (paid < MAX_PAYMENTS_PER_CALL && bound.isPayable(id)) {
            CarLoan.Loan memory current = bound.getLoan(id);
            uint256 amount = current.installment < current.outstanding ? current.installment : current.outstanding;
            if (token.balanceOf(address(this)) < amount) break;
            bound.payInstallment(id);
            emit Paid(id, amount);
            unchecked {
                ++paid;
            }
        }
    }
}
