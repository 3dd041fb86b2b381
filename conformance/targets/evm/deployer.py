"""The deterministic CREATE2 deployer (Arachnid's proxy) and CREATE2 address arithmetic.

The proxy at ``0x4e59b44847b379578588920ca78fbf26c0b4956c`` takes calldata
``salt (32 bytes) ‖ init code``, runs ``CREATE2(value, init code, salt)`` and returns the new
20-byte address (reverting when creation fails). Canonical deployments such as EntryPoint v0.7
(PROTOCOL.md §1) went through it, so replaying them through it lands at the same address.
"""

from __future__ import annotations

from eth_hash.auto import keccak

from conformance.targets.evm.backend import BackendError, DeploymentError, EvmBackend

CREATE2_DEPLOYER_ADDRESS = bytes.fromhex("4e59b44847b379578588920ca78fbf26c0b4956c")
"""Address of the deterministic deployment proxy on every public chain (and in anvil)."""

CREATE2_DEPLOYER_RUNTIME = bytes.fromhex(
    "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0"
    "3601600081602082378035828234f58015156039578182fd5b8082525050506014600cf3"
)
"""Runtime code of the deterministic deployment proxy (69 bytes).

Source: the Yul program of github.com/Arachnid/deterministic-deployment-proxy, deployed by its
keyless transaction; anvil pre-deploys exactly these bytes (checked by the integration tests).
It copies ``calldata[32:]`` to memory, ``CREATE2``s it with ``salt = calldata[0:32]`` and the
call value, reverts if the result is zero, else returns the 20 address bytes.
"""

DEFAULT_DEPLOY_SENDER = bytes.fromhex("000000000000000000000000000000000000a11c")
"""The externally owned account the suite sends its set-up transactions from."""


def create2_address(deployer: bytes, salt: bytes, init_code: bytes) -> bytes:
    """``keccak256(0xff ‖ deployer ‖ salt ‖ keccak256(init_code))[12:]`` (EIP-1014)."""
    if len(salt) != 32:
        raise ValueError(f"salt length={len(salt)}: must be 32 bytes")
    return keccak(b"\xff" + deployer + salt + keccak(init_code))[12:]


def ensure_create2_deployer(backend: EvmBackend) -> None:
    """Make sure the proxy's runtime is at its address; install it when the address is empty."""
    code = backend.get_code(CREATE2_DEPLOYER_ADDRESS)
    if code == CREATE2_DEPLOYER_RUNTIME:
        return
    if code:
        raise BackendError(
            f"unexpected code at the CREATE2 deployer address ({len(code)} bytes): not the proxy"
        )
    backend.set_code(CREATE2_DEPLOYER_ADDRESS, CREATE2_DEPLOYER_RUNTIME)


def deploy_create2(
    backend: EvmBackend,
    init_code: bytes,
    salt: bytes,
    *,
    sender: bytes = DEFAULT_DEPLOY_SENDER,
) -> bytes:
    """Deploy ``init_code`` through the proxy with ``salt``; the (deterministic) address.

    Idempotent: when the target address already holds code, nothing is sent.
    """
    target = create2_address(CREATE2_DEPLOYER_ADDRESS, salt, init_code)
    if backend.get_code(target):
        return target
    ensure_create2_deployer(backend)
    result = backend.transact(CREATE2_DEPLOYER_ADDRESS, salt + init_code, sender=sender)
    if not result.success:
        raise DeploymentError(
            f"CREATE2 deployment to 0x{target.hex()} reverted", revert_data=result.output
        )
    if result.output != target or not backend.get_code(target):
        raise BackendError(
            f"CREATE2 deployer returned 0x{result.output.hex()}, expected 0x{target.hex()}"
        )
    return target
