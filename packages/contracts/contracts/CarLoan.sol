// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "./IERC20.sol";
import {DeviceRegistry} from "./DeviceRegistry.sol";
import {SignatureChecker} from "./SignatureChecker.sol";

/// @title Car loans paid in fixed installments; a loan is delinquent once a due date plus grace passes.
/// @notice A loan is opened by the lender, who must own the car's DeviceRegistry entry, on terms and an
///         immobilizer policy the borrower signed; a car has at most one active loan, and a loan's record is
///         never replaced. pbj watches these events and locks the car (`Loan.car`, a device address) when `lockAt` passes
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

    /// @notice What a loan's terms are: signed by the borrower (their consent) and opened by the lender, who
    ///         must control the car's DeviceRegistry entry. `lender` receives the installments.
    struct Terms {
        address borrower;
        address car;
        address wallet;
        address lender;
        uint256 installment;
        uint64 period;
        uint64 grace;
        uint32 installments;
        uint64 firstDueAt;
    }

    /// @notice The shortest final warning and emergency restart the law allows (Cal. Civ. Code §2983.37).
    uint64 public constant MIN_FINAL_WARNING = 48 hours;
    uint64 public constant MIN_EMERGENCY_DURATION = 24 hours;

    /// @notice EIP-712 types of the borrower's consent (domain: name "pbj CarLoan", version "1", this chain,
    ///         this contract). The policy is part of what is signed: the immobilizer disclosure at sale.
    bytes32 public constant POLICY_TYPEHASH = keccak256(
        "Policy(uint64 warningPeriod,uint64 finalWarning,uint32 emergencyStarts,uint64 emergencyDuration)"
    );
    bytes32 public constant CONSENT_TYPEHASH = keccak256(
        "LoanConsent(address borrower,address car,address wallet,address lender,uint256 installment,uint64 period,uint64 grace,uint32 installments,uint64 firstDueAt,Policy policy,uint256 nonce,uint256 deadline)Policy(uint64 warningPeriod,uint64 finalWarning,uint32 emergencyStarts,uint64 emergencyDuration)"
    );

    IERC20 public immutable token;
    /// @notice Where cars are registered: only a car's owner there may open a loan on it.
    DeviceRegistry public immutable registry;
    /// @notice Number of loans opened; ids run from 1 to loanCount. A loan's record is never replaced.
    uint256 public loanCount;
    mapping(uint256 => Loan) private loans;
    /// @notice The car's one active loan (money still owed); 0 when none. A second loan cannot open while
    ///         one is active, so this never points anywhere but the loan the car is really financed by.
    mapping(address => uint256) public activeLoanOf;
    mapping(uint256 => Policy) private policies;
    /// @notice The borrower's next consent nonce: each consent is used once; revokeConsents() voids all unused.
    mapping(address => uint256) public consentNonce;

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
    event ConsentsRevoked(address indexed borrower, uint256 nextNonce);

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
    /// @notice Only the car's owner in DeviceRegistry may open a loan on it (`owner` is zero: not registered).
    error NotCarController(address car, address caller, address owner);
    /// @notice The terms name another lender than the caller.
    error LenderMismatch(address lender, address caller);
    /// @notice The car already has a loan with money owed; it must be repaid before another opens.
    error CarHasActiveLoan(address car, uint256 loanId);
    error ConsentExpired(uint256 deadline);
    /// @notice The borrower did not sign these terms and this policy (or the consent was used or revoked).
    error BadConsent(address borrower);

    constructor(IERC20 token_, DeviceRegistry registry_) {
        if (address(token_) == address(0) || address(registry_) == address(0)) revert ZeroAddress();
        token = token_;
        registry = registry_;
    }

    /// @notice Opens a loan lent by the caller, who must own the car's DeviceRegistry entry, on terms and an
    ///         immobilizer `policy` the borrower signed (EIP-712 LoanConsent, see consentDigest):
    ///         `installments` payments of `installment`, the first due at `firstDueAt`, then every `period`
    ///         seconds; the car may be locked `grace` seconds after a due date. A car has at most one active loan.
    function openLoan(Terms calldata terms, Policy calldata policy, uint256 deadline, bytes calldata borrowerSignature)
        external
        returns (uint256 loanId)
    {
        if (terms.borrower == address(0) || terms.car == address(0) || terms.wallet == address(0)) {
            revert ZeroAddress();
        }
        if (terms.installment == 0) revert ZeroInstallment();
        if (terms.period == 0) revert ZeroPeriod();
        if (terms.installments == 0) revert ZeroInstallments();
        _checkPolicy(policy, terms.grace);
        address controller = registry.owners(terms.car);
        if (controller != msg.sender) revert NotCarController(terms.car, msg.sender, controller);
        if (terms.lender != msg.sender) revert LenderMismatch(terms.lender, msg.sender);
        uint256 active = activeLoanOf[terms.car];
        if (active != 0) revert CarHasActiveLoan(terms.car, active);
        if (block.timestamp > deadline) revert ConsentExpired(deadline);
        bytes32 digest = consentDigest(terms, policy, consentNonce[terms.borrower], deadline);
        if (!SignatureChecker.isValidSignatureNow(terms.borrower, digest, borrowerSignature)) {
            revert BadConsent(terms.borrower);
        }
        ++consentNonce[terms.borrower];
        // Checked: reverts on overflow rather than opening a loan whose lock time wraps around.
        uint64 firstLockAt = terms.firstDueAt + terms.grace;

        loanId = ++loanCount;
        loans[loanId] = Loan({
            borrower: terms.borrower,
            car: terms.car,
            wallet: terms.wallet,
            lender: msg.sender,
            installment: terms.installment,
            period: terms.period,
            grace: terms.grace,
            nextDueAt: terms.firstDueAt,
            outstanding: terms.installment * terms.installments
        });
        activeLoanOf[terms.car] = loanId;
        policies[loanId] = policy;
        _emitOpened(loanId, terms.firstDueAt, firstLockAt, firstLockAt - policy.finalWarning);
    }

    /// @notice The EIP-712 digest the borrower signs to consent to `terms` and `policy` with `nonce`.
    function consentDigest(Terms calldata terms, Policy calldata policy, uint256 nonce, uint256 deadline)
        public
        view
        returns (bytes32)
    {
        // Terms and Policy hold only static fields, so abi.encode lays them out word by word, exactly as
        // EIP-712's encodeData lists the members.
        bytes32 policyHash = keccak256(abi.encode(POLICY_TYPEHASH, policy));
        bytes32 structHash = keccak256(abi.encode(CONSENT_TYPEHASH, terms, policyHash, nonce, deadline));
        return keccak256(abi.encodePacked("\x19\x01", DOMAIN_SEPARATOR(), structHash));
    }

    /// @notice This contract's EIP-712 domain on this chain.
    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        return SignatureChecker.domainSeparator(keccak256("pbj CarLoan"), address(this));
    }

    /// @notice Voids every consent the caller signed and that was not used yet.
    function revokeConsents() external {
        uint256 next = ++consentNonce[msg.sender];
        emit ConsentsRevoked(msg.sender, next);
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
        if (loan.outstanding == 0) {
            // Repaid: the car is free to be financed again; this loan's record stays as it is.
            if (activeLoanOf[loan.car] == loanId) delete activeLoanOf[loan.car];
            emit LoanRepaid(loanId);
        }
    }

    function getLoan(uint256 loanId) external view returns (Loan memory) {
        return _loan(loanId);
    }

    /// @notice True when money is owed and the current due date plus grace has passed: the car may be locked.
    function isDelinquent(uint256 loanId) external view returns (bool) {
        Loan storage loan = _loan(loanId);
        return loan.outstanding > 0 && block.timestamp >= uint256(loan.nextDueAt) + loan.grace;
    }

    /// @notice Whether the car's one active loan is delinquent: what pbj re-reads before any lock goes out.
    function isCarDelinquent(address car) external view returns (bool) {
        uint256 loanId = activeLoanOf[car];
        return loanId != 0 && _stage(loanId) == 3;
    }

    /// @notice Whether the car is financed by a loan with money still owed.
    function hasActiveLoan(address car) external view returns (bool) {
        return activeLoanOf[car] != 0;
    }

    /// @notice Where the car's one active loan stands now, in one read: its id (0: none, and then all zero),
    ///         its stage (see stageOf), its current due date, lock time and final-warning time, and its policy.
    ///         What a pbj guard checks every command to the car against.
    function carStatus(address car)
        external
        view
        returns (
            uint256 loanId,
            uint8 stage,
            uint64 nextDueAt_,
            uint64 lockAt_,
            uint64 finalWarningAt_,
            Policy memory policy
        )
    {
        loanId = activeLoanOf[car];
        if (loanId == 0) return (0, 0, 0, 0, 0, policy);
        Loan storage loan = loans[loanId];
        policy = policies[loanId];
        stage = _stage(loanId);
        nextDueAt_ = loan.nextDueAt;
        lockAt_ = loan.nextDueAt + loan.grace;
        finalWarningAt_ = lockAt_ - policy.finalWarning;
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
        _loan(loanId);
        return _stage(loanId);
    }

    function _stage(uint256 loanId) private view returns (uint8) {
        Loan storage loan = loans[loanId];
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
