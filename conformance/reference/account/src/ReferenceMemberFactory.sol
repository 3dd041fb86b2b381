// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.24;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";
import {Create2} from "@openzeppelin/contracts/utils/Create2.sol";

import {ClusterMember} from "./ClusterMember.sol";
import {IMemberFactory} from "./AttestMeshTypes.sol";

/// @title ReferenceMemberFactory: deploys ClusterMember proxies with CREATE2 (PROTOCOL.md §4, §5).
/// @notice Each member is an ERC1967Proxy(implementation, initialize(cluster)); `isOurMember`
/// is the provenance the webhook (policy step 3) and the cluster (registration) ask about.
contract ReferenceMemberFactory is IMemberFactory {
    event MemberCreated(address indexed member, address indexed cluster, bytes32 salt);

    /// @notice The ClusterMember implementation every proxy points at.
    address public immutable implementation;
    mapping(address => bool) public isOurMember;

    constructor(address implementation_) {
        implementation = implementation_;
    }

    /// @notice Deploy (or return the already deployed) member of `cluster` for `salt`.
    function createMember(address cluster, bytes32 salt) external returns (address member) {
        member = predict(cluster, salt);
        if (member.code.length > 0) return member;
        address deployed = address(new ERC1967Proxy{salt: salt}(implementation, _initData(cluster)));
        assert(deployed == member);
        isOurMember[member] = true;
        emit MemberCreated(member, cluster, salt);
    }

    /// @notice The address createMember(cluster, salt) deploys to.
    function predict(address cluster, bytes32 salt) public view returns (address) {
        bytes memory initCode =
            abi.encodePacked(type(ERC1967Proxy).creationCode, abi.encode(implementation, _initData(cluster)));
        return Create2.computeAddress(salt, keccak256(initCode));
    }

    function _initData(address cluster) private pure returns (bytes memory) {
        return abi.encodeCall(ClusterMember.initialize, (cluster));
    }
}
