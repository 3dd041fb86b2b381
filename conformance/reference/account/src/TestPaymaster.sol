// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.24;

import {IEntryPoint} from "@account-abstraction/contracts/interfaces/IEntryPoint.sol";
import {IPaymaster} from "@account-abstraction/contracts/interfaces/IPaymaster.sol";
import {PackedUserOperation} from "@account-abstraction/contracts/interfaces/PackedUserOperation.sol";

/// @title TestPaymaster: a v0.7 paymaster that sponsors every operation (test harness only).
/// @notice The suite's fake paymaster services put this contract in paymasterAndData after
/// the sponsorship decision; on chain it approves unconditionally.
contract TestPaymaster is IPaymaster {
    error OnlyEntryPoint();

    IEntryPoint public immutable entryPoint;

    constructor(IEntryPoint entryPoint_) {
        entryPoint = entryPoint_;
    }

    function validatePaymasterUserOp(PackedUserOperation calldata, bytes32, uint256)
        external
        view
        returns (bytes memory context, uint256 validationData)
    {
        _requireFromEntryPoint();
        return ("", 0);
    }

    function postOp(PostOpMode, bytes calldata, uint256, uint256) external view {
        _requireFromEntryPoint();
    }

    /// @notice Fund the paymaster's EntryPoint deposit.
    function deposit() external payable {
        entryPoint.depositTo{value: msg.value}(address(this));
    }

    /// @notice Stake with the EntryPoint (real bundlers want a staked paymaster).
    function addStake(uint32 unstakeDelaySec) external payable {
        entryPoint.addStake{value: msg.value}(unstakeDelaySec);
    }

    function _requireFromEntryPoint() private view {
        if (msg.sender != address(entryPoint)) revert OnlyEntryPoint();
    }
}
