// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.24;

import {IAccount} from "@account-abstraction/contracts/interfaces/IAccount.sol";
import {PackedUserOperation} from "@account-abstraction/contracts/interfaces/PackedUserOperation.sol";
import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts/proxy/utils/UUPSUpgradeable.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

import {
    AttestMeshHashes,
    DstackProof,
    IClusterMemberAccount,
    IClusterRegistration,
    OperatorProof
} from "./AttestMeshTypes.sol";

/// @title ClusterMember: the reference AttestMesh smart account (PROTOCOL.md §6).
/// @notice UUPS implementation used behind an ERC1967Proxy. Its first operation is its own
/// registration, validated through the bootstrap path; later ones are checked against the owner
/// the cluster installed. The `multiAttestor` generation flag (PROTOCOL.md §0) enables the
/// operator_register bootstrap and keeps the first owner on a second installation.
contract ClusterMember is IAccount, IClusterMemberAccount, Initializable, UUPSUpgradeable {
    error OnlyEntryPoint();
    error OnlyCluster();
    error OwnerAlreadySet();
    error InvalidBootstrapCall();
    error NotClusterOwner();
    error ZeroOwner();

    event OwnerSet(address indexed owner);
    event OwnerSetSkipped(address indexed rejectedOwner);
    event Executed(address indexed target, uint256 value, bytes4 selector);

    uint256 private constant SIG_VALIDATION_SUCCESS = 0;
    uint256 private constant SIG_VALIDATION_FAILED = 1;
    /// @dev secp256k1 n / 2: a signature with a larger s is invalid (PROTOCOL.md §2).
    uint256 private constant HALF_N =
        0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    bytes4 private constant DSTACK_REGISTER_SELECTOR = IClusterRegistration.dstack_register.selector;
    bytes4 private constant OPERATOR_REGISTER_SELECTOR = IClusterRegistration.operator_register.selector;

    address private immutable ENTRY_POINT;
    /// @notice Generation flag: true = multi-attestor, false = base / pimlico (PROTOCOL.md §0).
    bool public immutable multiAttestor;

    /// @notice The cluster this account belongs to (set once by initialize).
    address public cluster;
    /// @notice The owner key installed by the cluster at registration; zero until then.
    address public owner;

    constructor(address entryPoint_, bool multiAttestor_) {
        ENTRY_POINT = entryPoint_;
        multiAttestor = multiAttestor_;
        _disableInitializers();
    }

    /// @notice Bind the proxy to its cluster (called by the member factory at deployment).
    function initialize(address cluster_) external initializer {
        cluster = cluster_;
    }

    /// @notice The EntryPoint v0.7 this account trusts.
    function entryPoint() external view returns (address) {
        return ENTRY_POINT;
    }

    receive() external payable {}

    // ------------------------------------------------------------------------------------------
    // Validation (PROTOCOL.md §6)
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IAccount
    function validateUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash, uint256 missingAccountFunds)
        external
        returns (uint256 validationData)
    {
        _requireFromEntryPoint();
        address signer = _recoverStrict(MessageHashUtils.toEthSignedMessageHash(userOpHash), userOp.signature);
        if (signer == address(0)) {
            validationData = SIG_VALIDATION_FAILED;
        } else {
            address expected = owner == address(0) ? _bootstrapSigner(userOp.callData) : owner;
            validationData = expected != address(0) && signer == expected ? SIG_VALIDATION_SUCCESS : SIG_VALIDATION_FAILED;
        }
        if (missingAccountFunds > 0) {
            (bool paid,) = payable(msg.sender).call{value: missingAccountFunds}("");
            (paid); // the EntryPoint checks the deposit itself
        }
    }

    /// @dev The signer the bootstrap operation must carry; reverts on any other call shape.
    function _bootstrapSigner(bytes calldata callData) private view returns (address) {
        if (callData.length < 4 || bytes4(callData[:4]) != this.execute.selector) revert InvalidBootstrapCall();
        (address target, uint256 value, bytes memory inner) = _decodeExecute(callData[4:]);
        if (target != cluster) revert InvalidBootstrapCall();
        if (value != 0) revert InvalidBootstrapCall();
        if (inner.length < 4) revert InvalidBootstrapCall();
        bytes4 innerSelector = bytes4(inner);
        if (multiAttestor && innerSelector == OPERATOR_REGISTER_SELECTOR) return _operatorSigner(inner);
        if (innerSelector != DSTACK_REGISTER_SELECTOR) revert InvalidBootstrapCall();
        return _dstackSigner(inner);
    }

    /// @dev dstack bootstrap: the key that signed the binding hash this account computes itself.
    function _dstackSigner(bytes memory inner) private view returns (address) {
        (DstackProof memory proof, address memberContract, bytes32 xPubKey, bytes32 wgPubKey) =
            _decodeDstackRegister(inner);
        if (memberContract != address(this)) revert InvalidBootstrapCall();
        bytes32 binding = AttestMeshHashes.bindingHash(cluster, address(this), xPubKey, wgPubKey);
        return _recoverStrict(MessageHashUtils.toEthSignedMessageHash(binding), proof.messageSignature);
    }

    /// @dev Operator bootstrap (multi-attestor only): the voucher's ownerKey.
    function _operatorSigner(bytes memory inner) private view returns (address) {
        (OperatorProof memory proof, address memberContract,,) = _decodeOperatorRegister(inner);
        if (memberContract != address(this)) revert InvalidBootstrapCall();
        return proof.ownerKey;
    }

    /// @dev 65 bytes r‖s‖v, v 27/28, low s, recoverable → the signer; anything else → zero.
    function _recoverStrict(bytes32 digest, bytes memory sig) private pure returns (address) {
        if (sig.length != 65) return address(0);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := mload(add(sig, 0x20))
            s := mload(add(sig, 0x40))
            v := byte(0, mload(add(sig, 0x60)))
        }
        if (uint256(s) > HALF_N) return address(0);
        if (v != 27 && v != 28) return address(0);
        return ecrecover(digest, v, r, s);
    }

    // ------------------------------------------------------------------------------------------
    // Strict decoding with Solidity's own ABI decoder (PROTOCOL.md §3). The decoders are external
    // so that a decoding failure can be caught and reported as InvalidBootstrapCall.
    // ------------------------------------------------------------------------------------------

    /// @notice abi.decode of execute's arguments (callData without its selector).
    function decodeExecuteArgs(bytes calldata args)
        external
        pure
        returns (address target, uint256 value, bytes memory data)
    {
        return abi.decode(args, (address, uint256, bytes));
    }

    /// @notice abi.decode of a dstack_register call's arguments (the call includes its selector).
    function decodeDstackRegisterCall(bytes calldata call)
        external
        pure
        returns (DstackProof memory proof, address memberContract, bytes32 xPubKey, bytes32 wgPubKey)
    {
        return abi.decode(call[4:], (DstackProof, address, bytes32, bytes32));
    }

    /// @notice abi.decode of an operator_register call's arguments (the call includes its selector).
    function decodeOperatorRegisterCall(bytes calldata call)
        external
        pure
        returns (OperatorProof memory proof, address memberContract, bytes32 xPubKey, bytes32 wgPubKey)
    {
        return abi.decode(call[4:], (OperatorProof, address, bytes32, bytes32));
    }

    function _decodeExecute(bytes calldata args) private view returns (address, uint256, bytes memory) {
        try this.decodeExecuteArgs(args) returns (address target, uint256 value, bytes memory data) {
            return (target, value, data);
        } catch {
            revert InvalidBootstrapCall();
        }
    }

    function _decodeDstackRegister(bytes memory call)
        private
        view
        returns (DstackProof memory, address, bytes32, bytes32)
    {
        try this.decodeDstackRegisterCall(call) returns (
            DstackProof memory proof, address memberContract, bytes32 xPubKey, bytes32 wgPubKey
        ) {
            return (proof, memberContract, xPubKey, wgPubKey);
        } catch {
            revert InvalidBootstrapCall();
        }
    }

    function _decodeOperatorRegister(bytes memory call)
        private
        view
        returns (OperatorProof memory, address, bytes32, bytes32)
    {
        try this.decodeOperatorRegisterCall(call) returns (
            OperatorProof memory proof, address memberContract, bytes32 xPubKey, bytes32 wgPubKey
        ) {
            return (proof, memberContract, xPubKey, wgPubKey);
        } catch {
            revert InvalidBootstrapCall();
        }
    }

    // ------------------------------------------------------------------------------------------
    // Execution, owner installation, upgrades (PROTOCOL.md §6)
    // ------------------------------------------------------------------------------------------

    /// @notice Perform one call for the EntryPoint; the callee's revert data bubbles unchanged.
    function execute(address target, uint256 value, bytes calldata data) external {
        _requireFromEntryPoint();
        (bool ok, bytes memory ret) = target.call{value: value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        emit Executed(target, value, data.length >= 4 ? bytes4(data[:4]) : bytes4(0));
    }

    /// @notice Install the owner; only the stored cluster, only once (a second installation
    /// reverts, or under multi-attestor keeps the first owner and emits OwnerSetSkipped).
    function __setOwnerFromCluster(address newOwner) external {
        if (msg.sender != cluster) revert OnlyCluster();
        if (owner != address(0)) {
            if (multiAttestor) {
                emit OwnerSetSkipped(newOwner);
                return;
            }
            revert OwnerAlreadySet();
        }
        if (newOwner == address(0)) revert ZeroOwner();
        owner = newOwner;
        emit OwnerSet(newOwner);
    }

    /// @dev Upgrades: only the cluster's live clusterOwner().
    function _authorizeUpgrade(address) internal view override {
        if (msg.sender != IClusterRegistration(cluster).clusterOwner()) revert NotClusterOwner();
    }

    function _requireFromEntryPoint() private view {
        if (msg.sender != ENTRY_POINT) revert OnlyEntryPoint();
    }
}
