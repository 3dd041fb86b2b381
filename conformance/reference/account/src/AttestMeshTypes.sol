// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.24;

/// @title Shared AttestMesh types, hashes and interfaces (PROTOCOL.md §1, §4).

/// @notice The dstack attestation proof, fields in ABI order (PROTOCOL.md §4).
struct DstackProof {
    bytes32 codeId;
    bytes32 messageHash;
    bytes messageSignature;
    bytes appSignature;
    bytes kmsSignature;
    bytes derivedCompressedPubkey;
    bytes appCompressedPubkey;
    string purpose;
}

/// @notice The multi-attestor operator voucher (PROTOCOL.md §4).
struct OperatorProof {
    address signer;
    address ownerKey;
    uint64 expiry;
    bytes signature;
}

/// @notice The hashes both the account and the cluster compute (PROTOCOL.md §4).
library AttestMeshHashes {
    string internal constant BIND_DOMAIN = "attestmesh.bind.v1";
    string internal constant OPERATOR_BIND_DOMAIN = "attestmesh.operator.bind.v1";
    bytes32 internal constant DSTACK_ATTESTOR = keccak256("attestmesh.attestor.dstack");
    /// @dev PROTOCOL.md names no attestor id for operator registrations; this is ours.
    bytes32 internal constant OPERATOR_ATTESTOR = keccak256("attestmesh.attestor.operator");

    /// keccak256(abi.encode("attestmesh.bind.v1", cluster, member, xPubKey, wgPubKey)).
    function bindingHash(address cluster, address member, bytes32 xPubKey, bytes32 wgPubKey)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(BIND_DOMAIN, cluster, member, xPubKey, wgPubKey));
    }

    /// keccak256(abi.encode("attestmesh.operator.bind.v1", cluster, member, x, wg, ownerKey, expiry)).
    function operatorBindingHash(
        address cluster,
        address member,
        bytes32 xPubKey,
        bytes32 wgPubKey,
        address ownerKey,
        uint64 expiry
    ) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(OPERATOR_BIND_DOMAIN, cluster, member, xPubKey, wgPubKey, ownerKey, expiry)
        );
    }

    /// keccak256(abi.encode(cluster, member, attestor)).
    function memberId(address cluster, address member, bytes32 attestor)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(cluster, member, attestor));
    }
}

/// @notice The registration entry points of a cluster (selectors over the expanded tuples).
interface IClusterRegistration {
    function dstack_register(DstackProof calldata proof, address member, bytes32 xPubKey, bytes32 wgPubKey)
        external;

    function operator_register(
        OperatorProof calldata proof,
        address member,
        bytes32 xPubKey,
        bytes32 wgPubKey
    ) external;

    function clusterOwner() external view returns (address);
}

/// @notice What a cluster asks of the member factory (PROTOCOL.md §4, §5 step 3).
interface IMemberFactory {
    function isOurMember(address member) external view returns (bool);
}

/// @notice What a cluster asks of a member account at registration (PROTOCOL.md §4, §6).
interface IClusterMemberAccount {
    function __setOwnerFromCluster(address newOwner) external;
}
