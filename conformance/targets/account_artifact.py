"""Loading a compiled account contract given with ``--artifact FILE`` (ARCHITECTURE.md: targets/).

Accepted JSON shapes (ABI plus creation bytecode):

- Hardhat / plain: ``{"abi": [...], "bytecode": "0x…"}``
- Foundry (``out/X.sol/X.json``): ``{"abi": [...], "bytecode": {"object": "0x…"}}``
- a solc standard-JSON output contract entry:
  ``{"abi": [...], "evm": {"bytecode": {"object": "…"}}}``
- a whole solc standard-JSON output (``{"contracts": {file: {name: entry}}}``): the one contract
  whose ABI has ``validateUserOp`` is taken.

Constructor arguments are filled by type and name: an ``address`` named like ``cluster`` gets the
cluster, any other ``address`` the EntryPoint, a ``bool`` the multi-attestor flag (PROTOCOL.md §0).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import UsageError

_UNLINKED = re.compile(r"__\$[0-9a-fA-F]{34}\$__")


@dataclass(frozen=True)
class AccountArtifact:
    """An account contract to deploy: its ABI, creation code and where it came from."""

    name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: bytes
    source: str

    def functions(self) -> frozenset[str]:
        """Canonical signatures of the ABI's functions, e.g. ``initialize(address)``."""
        return frozenset(
            f"{e['name']}({','.join(_type(i) for i in e.get('inputs', []))})"
            for e in self.abi
            if e.get("type") == "function"
        )

    def constructor_inputs(self) -> tuple[dict[str, Any], ...]:
        """The constructor's ABI inputs (empty when it takes none)."""
        for entry in self.abi:
            if entry.get("type") == "constructor":
                return tuple(entry.get("inputs", []))
        return ()


def _type(item: dict[str, Any]) -> str:
    """Canonical ABI type of an input, tuples expanded."""
    kind = str(item["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_type(c) for c in item.get("components", []))
        return f"({inner}){kind[5:]}"
    return kind


def _bytecode_text(entry: dict[str, Any]) -> str | None:
    code = entry.get("bytecode")
    if isinstance(code, dict):
        code = code.get("object")
    if code is None:
        evm = entry.get("evm")
        if isinstance(evm, dict) and isinstance(evm.get("bytecode"), dict):
            code = evm["bytecode"].get("object")
    return code if isinstance(code, str) else None


def _pick_contract(data: dict[str, Any], label: str) -> tuple[str, dict[str, Any]]:
    """The contract entry of a file: itself, or the validateUserOp contract of a solc output."""
    if "abi" in data:
        return str(data.get("contractName") or Path(label).stem), data
    contracts = data.get("contracts")
    if not isinstance(contracts, dict):
        raise UsageError(f"--artifact={label}: no 'abi' and no solc 'contracts' in the JSON")
    found = [
        (name, entry)
        for unit in contracts.values() if isinstance(unit, dict)
        for name, entry in unit.items()
        if isinstance(entry, dict)
        and any(e.get("name") == "validateUserOp" for e in entry.get("abi", []))
    ]  # fmt: skip
    if len(found) != 1:
        names = ", ".join(name for name, _ in found) or "none"
        raise UsageError(
            f"--artifact={label}: expected one contract with validateUserOp, found {names}"
        )
    return found[0]


def parse_account_artifact(data: object, label: str) -> AccountArtifact:
    """An AccountArtifact from parsed JSON (``UsageError`` naming what is missing)."""
    if not isinstance(data, dict):
        raise UsageError(f"--artifact={label}: not a JSON object")
    name, entry = _pick_contract(data, label)
    abi = entry.get("abi")
    if isinstance(abi, str):
        abi = json.loads(abi)
    if not isinstance(abi, list):
        raise UsageError(f"--artifact={label}: 'abi' is not a list")
    text = _bytecode_text(entry)
    if text is None:
        raise UsageError(
            f"--artifact={label}: no creation bytecode (bytecode / evm.bytecode.object)"
        )
    if _UNLINKED.search(text):
        raise UsageError(f"--artifact={label}: bytecode has unlinked library placeholders")
    try:
        bytecode = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise UsageError(f"--artifact={label}: bytecode is not hex") from None
    if not bytecode:
        raise UsageError(f"--artifact={label}: empty bytecode (an interface or abstract contract?)")
    artifact = AccountArtifact(name, tuple(abi), bytecode, label)
    if "validateUserOp((address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes),bytes32,uint256)" not in artifact.functions():  # noqa: E501
        raise UsageError(f"--artifact={label}: the ABI has no v0.7 validateUserOp")
    return artifact


def load_account_artifact(path: str | Path) -> AccountArtifact:
    """Read ``path`` (any of the module's shapes); ``UsageError`` when it cannot be used."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--artifact={path}: cannot read: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"--artifact={path}: not JSON: {exc}") from None
    return parse_account_artifact(data, str(path))


def constructor_arguments(
    artifact: AccountArtifact, *, entry_point: bytes, cluster: bytes, multi_attestor: bool
) -> tuple[list[str], list[Any]]:
    """The constructor's types and values, filled by type and name (see the module doc)."""
    types: list[str] = []
    values: list[Any] = []
    for item in artifact.constructor_inputs():
        kind, name = _type(item), str(item.get("name", "")).lower()
        if kind == "address":
            values.append(cluster if "cluster" in name else entry_point)
        elif kind == "bool":
            values.append(multi_attestor)
        else:
            raise UsageError(
                f"--artifact={artifact.source}: cannot fill constructor argument "
                f"{item.get('name') or '?'} of type {kind} (only address and bool)"
            )
        types.append(kind)
    return types, values
