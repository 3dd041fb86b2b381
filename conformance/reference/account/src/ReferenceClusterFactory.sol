// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.24;

import {ReferenceCluster} from "./ReferenceCluster.sol";

/// @title ReferenceClusterFactory: deploys clusters and answers isDeployedCluster (PROTOCOL.md §5).
contract ReferenceClusterFactory {
    event ClusterCreated(address indexed cluster, address indexed clusterOwner, bytes32 salt);

    /// @notice The member factory every cluster of this factory trusts for provenance.
    address public immutable memberFactory;
    mapping(address => bool) public isDeployedCluster;

    constructor(address memberFactory_) {
        memberFactory = memberFactory_;
    }

    /// @notice Deploy a cluster owned by `clusterOwner` with the given allowed KMS roots.
    function createCluster(address clusterOwner, address[] calldata kmsRoots, bytes32 salt)
        external
        returns (address cluster)
    {
        cluster = address(new ReferenceCluster{salt: salt}(memberFactory, clusterOwner, kmsRoots));
        isDeployedCluster[cluster] = true;
        emit ClusterCreated(cluster, clusterOwner, salt);
    }
}
