// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.24;

/// @notice A public key of a length other than 33, 64 or 65 bytes (PROTOCOL.md §4).
error InvalidPubKeyLength();
/// @notice A 33-byte compressed key whose x gives no point on secp256k1 (PROTOCOL.md §4).
error PointNotOnCurve();

/// @title Addresses of secp256k1 public keys as the cluster reads them (PROTOCOL.md §4).
/// @notice 33 bytes: y parity from the prefix byte's low bit (any prefix byte), x taken modulo p
/// for the curve check, and the address hashes the x word as given. 64 bytes x‖y and 65 bytes
/// prefix‖x‖y: keccak of x‖y with no curve or prefix check (an off-curve key merely has an
/// address nobody can sign for).
library Secp256k1PubKey {
    uint256 internal constant P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
    /// @dev (p + 1) / 4: p ≡ 3 (mod 4), so a square root of a is a^((p+1)/4).
    uint256 private constant SQRT_EXPONENT =
        0x3FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFBFFFFF0C;

    function toAddress(bytes memory pub) internal view returns (address) {
        if (pub.length == 33) return _compressedToAddress(pub);
        bytes32 x;
        bytes32 y;
        if (pub.length == 64) {
            assembly ("memory-safe") {
                x := mload(add(pub, 0x20))
                y := mload(add(pub, 0x40))
            }
        } else if (pub.length == 65) {
            assembly ("memory-safe") {
                x := mload(add(pub, 0x21))
                y := mload(add(pub, 0x41))
            }
        } else {
            revert InvalidPubKeyLength();
        }
        return address(uint160(uint256(keccak256(abi.encodePacked(x, y)))));
    }

    function _compressedToAddress(bytes memory pub) private view returns (address) {
        uint8 prefix = uint8(pub[0]);
        bytes32 xWord;
        assembly ("memory-safe") {
            xWord := mload(add(pub, 0x21))
        }
        uint256 x = uint256(xWord);
        uint256 rhs = addmod(mulmod(mulmod(x, x, P), x, P), 7, P);
        uint256 y = _modExp(rhs, SQRT_EXPONENT, P);
        if (mulmod(y, y, P) != rhs) revert PointNotOnCurve();
        if ((y & 1) != (prefix & 1)) y = P - y;
        return address(uint160(uint256(keccak256(abi.encodePacked(xWord, bytes32(y))))));
    }

    /// @dev base^exponent mod modulus through the modexp precompile (EIP-198, address 0x05).
    function _modExp(uint256 base, uint256 exponent, uint256 modulus) private view returns (uint256 result) {
        (bool ok, bytes memory out) =
            address(0x05).staticcall(abi.encodePacked(uint256(32), uint256(32), uint256(32), base, exponent, modulus));
        require(ok && out.length == 32, "modexp failed");
        result = abi.decode(out, (uint256));
    }
}
