// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

import {
    AttestMeshHashes,
    DstackProof,
    IClusterMemberAccount,
    IClusterRegistration,
    IMemberFactory,
    OperatorProof
} from "./AttestMeshTypes.sol";
import {Secp256k1PubKey} from "./Secp256k1PubKey.sol";

/// @title ReferenceCluster: registration and the on-chain gates (PROTOCOL.md §4, §6).
/// @notice Registration installs the attested key as a member's owner; member operations need a
/// registered member, admin operations the cluster owner. These gates stand on their own,
/// whatever a sponsorship webhook decided.
contract ReferenceCluster is IClusterRegistration {
    error NotOurMember();
    error AlreadyRegistered();
    error CodeIdMismatch();
    error BindingMismatch();
    error InvalidSigChain();
    error OperatorSignerNotAllowed();
    error VoucherExpired();
    error NotClusterOwner();
    error NotPendingClusterOwner();
    error NotRegisteredMember();

    event MemberRegistered(
        address indexed member, bytes32 indexed memberId, address owner, bytes32 xPubKey, bytes32 wgPubKey
    );
    event WgKeyPublished(address indexed member, bytes32 wgPubKey);
    event Ed25519KeyPublished(address indexed member, bytes32 ed25519PubKey);
    event CskCommitmentSet(address indexed member, bytes32 commitment);
    event EnvelopeSent(address indexed from, bytes32 indexed recipient, bytes32 indexed envelopeId, bytes ciphertext);
    event ClusterOwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    event ClusterOwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event AdminSet(bytes4 indexed selector, bytes32 key, bool value);

    struct Member {
        bool registered;
        bytes32 memberId;
        address owner;
        bytes32 xPubKey;
        bytes32 wgPubKey;
        bytes32 ed25519PubKey;
        bytes32 cskCommitment;
    }

    /// @notice The member factory whose members may register (provenance, PROTOCOL.md §4).
    IMemberFactory public immutable memberFactory;
    address public clusterOwner;
    address public pendingClusterOwner;
    bool public allowAnyDevice;
    bool public requireTcbUpToDate;
    mapping(address => bool) public allowedAppIds;
    mapping(address => bool) public allowedKmsRoots;
    mapping(address => bool) public isOperatorSigner;
    mapping(bytes32 => bool) public composeHashes;
    mapping(bytes32 => bool) public devices;
    mapping(address => Member) private _members;

    modifier onlyClusterOwner() {
        if (msg.sender != clusterOwner) revert NotClusterOwner();
        _;
    }

    modifier onlyRegisteredMember() {
        if (!_members[msg.sender].registered) revert NotRegisteredMember();
        _;
    }

    constructor(address memberFactory_, address clusterOwner_, address[] memory kmsRoots) {
        memberFactory = IMemberFactory(memberFactory_);
        clusterOwner = clusterOwner_;
        for (uint256 i; i < kmsRoots.length; ++i) {
            allowedKmsRoots[kmsRoots[i]] = true;
        }
        emit ClusterOwnershipTransferred(address(0), clusterOwner_);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @notice Whether `member` is registered, and its memberId (zero when not registered).
    function memberOf(address member) external view returns (bool registered, bytes32 memberId) {
        Member storage m = _members[member];
        return (m.registered, m.memberId);
    }

    /// @notice The owner key installed for `member` at registration (zero when not registered).
    function memberOwner(address member) external view returns (address) {
        return _members[member].owner;
    }

    /// @notice The last WireGuard key `member` published (or registered with).
    function wgKeyOf(address member) external view returns (bytes32) {
        return _members[member].wgPubKey;
    }

    // ------------------------------------------------------------------------------------------
    // Registration (PROTOCOL.md §4)
    // ------------------------------------------------------------------------------------------

    /// @notice Register `member` with a dstack proof; installs the derived key as its owner.
    function dstack_register(DstackProof calldata proof, address member, bytes32 xPubKey, bytes32 wgPubKey)
        external
    {
        _requireProvenance(member);
        if (proof.codeId != bytes32(bytes20(member))) revert CodeIdMismatch();
        if (proof.messageHash != AttestMeshHashes.bindingHash(address(this), member, xPubKey, wgPubKey)) {
            revert BindingMismatch();
        }
        address derived = _verifySigChain(proof);
        bytes32 id = AttestMeshHashes.memberId(address(this), member, AttestMeshHashes.DSTACK_ATTESTOR);
        _register(member, id, derived, xPubKey, wgPubKey);
    }

    /// @notice Register `member` with an operator voucher (multi-attestor); owner = ownerKey.
    function operator_register(OperatorProof calldata proof, address member, bytes32 xPubKey, bytes32 wgPubKey)
        external
    {
        _requireProvenance(member);
        if (!isOperatorSigner[proof.signer]) revert OperatorSignerNotAllowed();
        if (block.timestamp > proof.expiry) revert VoucherExpired();
        bytes32 digest = AttestMeshHashes.operatorBindingHash(
            address(this), member, xPubKey, wgPubKey, proof.ownerKey, proof.expiry
        );
        if (_recoverStrict(MessageHashUtils.toEthSignedMessageHash(digest), proof.signature) != proof.signer) {
            revert BindingMismatch();
        }
        bytes32 id = AttestMeshHashes.memberId(address(this), member, AttestMeshHashes.OPERATOR_ATTESTOR);
        _register(member, id, proof.ownerKey, xPubKey, wgPubKey);
    }

    function _requireProvenance(address member) private view {
        if (!memberFactory.isOurMember(member) && !allowedAppIds[member]) revert NotOurMember();
    }

    /// @dev The chain in order: app signature, KMS root, derived key over messageHash, app key.
    function _verifySigChain(DstackProof calldata proof) private view returns (address derived) {
        bytes32 appDigest = keccak256(abi.encodePacked(proof.purpose, ":", _lowerHex(proof.derivedCompressedPubkey)));
        address appSigner = _recoverStrict(appDigest, proof.appSignature);
        if (appSigner == address(0)) revert InvalidSigChain();
        bytes32 kmsDigest =
            keccak256(abi.encodePacked("dstack-kms-issued:", bytes20(proof.codeId), proof.appCompressedPubkey));
        address kmsSigner = _recoverStrict(kmsDigest, proof.kmsSignature);
        if (kmsSigner == address(0) || !allowedKmsRoots[kmsSigner]) revert InvalidSigChain();
        derived = Secp256k1PubKey.toAddress(proof.derivedCompressedPubkey);
        bytes32 messageDigest = MessageHashUtils.toEthSignedMessageHash(proof.messageHash);
        if (_recoverStrict(messageDigest, proof.messageSignature) != derived) revert InvalidSigChain();
        if (Secp256k1PubKey.toAddress(proof.appCompressedPubkey) != appSigner) revert InvalidSigChain();
    }

    function _register(address member, bytes32 id, address newOwner, bytes32 xPubKey, bytes32 wgPubKey) private {
        Member storage m = _members[member];
        if (m.registered) revert AlreadyRegistered();
        m.registered = true;
        m.memberId = id;
        m.owner = newOwner;
        m.xPubKey = xPubKey;
        m.wgPubKey = wgPubKey;
        emit MemberRegistered(member, id, newOwner, xPubKey, wgPubKey);
        IClusterMemberAccount(member).__setOwnerFromCluster(newOwner);
    }

    /// @dev Strict signatures (65 bytes, v 27/28, low s, recoverable) → signer, else zero.
    function _recoverStrict(bytes32 digest, bytes calldata sig) private pure returns (address) {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, sig);
        return err == ECDSA.RecoverError.NoError ? signer : address(0);
    }

    function _lowerHex(bytes calldata data) private pure returns (bytes memory out) {
        bytes16 digits = "0123456789abcdef";
        out = new bytes(data.length * 2);
        for (uint256 i; i < data.length; ++i) {
            out[2 * i] = digits[uint8(data[i]) >> 4];
            out[2 * i + 1] = digits[uint8(data[i]) & 0x0f];
        }
    }

    // ------------------------------------------------------------------------------------------
    // Member operations: a registered member only (PROTOCOL.md §6, access control on chain)
    // ------------------------------------------------------------------------------------------

    function publishWgKey(bytes32 wgPubKey) external onlyRegisteredMember {
        _members[msg.sender].wgPubKey = wgPubKey;
        emit WgKeyPublished(msg.sender, wgPubKey);
    }

    function publishEd25519Key(bytes32 ed25519PubKey) external onlyRegisteredMember {
        _members[msg.sender].ed25519PubKey = ed25519PubKey;
        emit Ed25519KeyPublished(msg.sender, ed25519PubKey);
    }

    function setCskCommitment(bytes32 commitment) external onlyRegisteredMember {
        _members[msg.sender].cskCommitment = commitment;
        emit CskCommitmentSet(msg.sender, commitment);
    }

    function send(bytes32 recipient, bytes32 envelopeId, bytes calldata ciphertext) external onlyRegisteredMember {
        emit EnvelopeSent(msg.sender, recipient, envelopeId, ciphertext);
    }

    // ------------------------------------------------------------------------------------------
    // Admin operations: the cluster owner only
    // ------------------------------------------------------------------------------------------

    function addComposeHash(bytes32 composeHash) external onlyClusterOwner {
        composeHashes[composeHash] = true;
        emit AdminSet(msg.sig, composeHash, true);
    }

    function removeComposeHash(bytes32 composeHash) external onlyClusterOwner {
        composeHashes[composeHash] = false;
        emit AdminSet(msg.sig, composeHash, false);
    }

    function addDevice(bytes32 deviceId) external onlyClusterOwner {
        devices[deviceId] = true;
        emit AdminSet(msg.sig, deviceId, true);
    }

    function removeDevice(bytes32 deviceId) external onlyClusterOwner {
        devices[deviceId] = false;
        emit AdminSet(msg.sig, deviceId, false);
    }

    function setAllowAnyDevice(bool allowed) external onlyClusterOwner {
        allowAnyDevice = allowed;
        emit AdminSet(msg.sig, bytes32(0), allowed);
    }

    function setRequireTcbUpToDate(bool required) external onlyClusterOwner {
        requireTcbUpToDate = required;
        emit AdminSet(msg.sig, bytes32(0), required);
    }

    function addAllowedKmsRoot(address root) external onlyClusterOwner {
        allowedKmsRoots[root] = true;
        emit AdminSet(msg.sig, bytes32(uint256(uint160(root))), true);
    }

    function removeAllowedKmsRoot(address root) external onlyClusterOwner {
        allowedKmsRoots[root] = false;
        emit AdminSet(msg.sig, bytes32(uint256(uint160(root))), false);
    }

    function addAllowedAppId(address appId) external onlyClusterOwner {
        allowedAppIds[appId] = true;
        emit AdminSet(msg.sig, bytes32(uint256(uint160(appId))), true);
    }

    function removeAllowedAppId(address appId) external onlyClusterOwner {
        allowedAppIds[appId] = false;
        emit AdminSet(msg.sig, bytes32(uint256(uint160(appId))), false);
    }

    function addOperatorSigner(address signer) external onlyClusterOwner {
        isOperatorSigner[signer] = true;
        emit AdminSet(msg.sig, bytes32(uint256(uint160(signer))), true);
    }

    function removeOperatorSigner(address signer) external onlyClusterOwner {
        isOperatorSigner[signer] = false;
        emit AdminSet(msg.sig, bytes32(uint256(uint160(signer))), false);
    }

    /// @notice Start a two-step ownership transfer (the reference has one owner, so
    /// transferBothOwners is the same operation).
    function transferClusterOwnership(address newOwner) public onlyClusterOwner {
        pendingClusterOwner = newOwner;
        emit ClusterOwnershipTransferStarted(clusterOwner, newOwner);
    }

    function transferBothOwners(address newOwner) external {
        transferClusterOwnership(newOwner);
    }

    /// @notice Complete the transfer; only the pending owner (acceptBothOwners and
    /// acceptOwnership are the same operation).
    function acceptClusterOwnership() public {
        if (msg.sender != pendingClusterOwner) revert NotPendingClusterOwner();
        emit ClusterOwnershipTransferred(clusterOwner, msg.sender);
        clusterOwner = msg.sender;
        pendingClusterOwner = address(0);
    }

    function acceptBothOwners() external {
        acceptClusterOwnership();
    }

    function acceptOwnership() external {
        acceptClusterOwnership();
    }
}
