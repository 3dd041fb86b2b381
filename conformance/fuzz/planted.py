"""Planted bugs: deliberately broken readers, one or more per target, for the benchmark and
the tests that prove each target finds what it is for (``amc bench --only fuzz``).

A plant replaces one seam of its target module (the decoder, a reader, a verifier, the account
under test) with a broken copy. The lenient decoders come from ``protocol.solidity_abi``, the
case-sensitive selector and the crashing sender parser from the reference webhook's mutants,
the fixed-offset bootstrap from the account mutants; the rest are written here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from conformance.errors import UsageError, did_you_mean
from conformance.protocol.calldata import (
    CANONICAL_DATA_START,
    DecodeError,
    DecodeErrorKind,
    ExecuteCall,
    decode_execute_strict,
    parse_calldata_hex,
)
from conformance.protocol.signatures import HALF_N, to_high_s


@dataclass(frozen=True)
class Plant:
    """A broken reader planted in ``target``; ``rules`` are the ids its finding may name."""

    name: str
    target: str
    description: str
    rules: tuple[str, ...]
    install: Callable[[ModuleType], None]


def trailing_bytes_accepted(calldata: bytes) -> ExecuteCall:
    """The strict decoder, but bytes after the padded data are ignored."""
    try:
        return decode_execute_strict(calldata)
    except DecodeError as exc:
        if exc.kind is not DecodeErrorKind.TRAILING_BYTES:
            raise
        length = int.from_bytes(calldata[100:132], "big")
        return decode_execute_strict(calldata[: CANONICAL_DATA_START + ((length + 31) & ~31)])


def length_off_by_one(calldata: bytes) -> ExecuteCall:
    """The strict decoder, but a length one past the end reads the data up to the end."""
    try:
        return decode_execute_strict(calldata)
    except DecodeError as exc:
        length = int.from_bytes(calldata[100:132], "big")
        if exc.kind is not DecodeErrorKind.LENGTH_OUT_OF_RANGE or \
                length != len(calldata) - CANONICAL_DATA_START + 1:
            raise
        return ExecuteCall(calldata[16:36], int.from_bytes(calldata[36:68], "big"),
                           calldata[CANONICAL_DATA_START:])


def _webhook(reader: Callable[[bytes], ExecuteCall]) -> Callable[[ModuleType], None]:
    def install(module: ModuleType) -> None:
        module.READERS["webhook"] = lambda data: reader(parse_calldata_hex("0x" + data.hex()))
        setattr(module, "ACCOUNT_SPEC", None)  # noqa: B010 (a module seam)
    return install


def _account_mutant(name: str) -> Callable[[ModuleType], None]:
    def install(module: ModuleType) -> None:
        setattr(module, "ACCOUNT_SPEC", {"kind": "reference", "mutant": name})  # noqa: B010
    return install


def lenient_app_signature(verify: Callable[..., bytes]) -> Callable[..., bytes]:
    """A dstack verifier that folds a high-s app signature back to its low-s twin first."""
    def verify_lenient(proof: Any, **kwargs: Any) -> bytes:
        sig = proof.app_signature
        if len(sig) == 65 and int.from_bytes(sig[32:64], "big") > HALF_N:
            proof = dataclasses.replace(proof, app_signature=to_high_s(sig))
        return verify(proof, **kwargs)
    return verify_lenient


def mac_prefix_compare(secret: str, derivation: Any, headers: dict[str, str], body: bytes,
                       now: int, tolerance: int = 300) -> None:
    """verify_webhook, but a v1 entry also matches when its first 12 base64 characters do."""
    from conformance.protocol.webhook_wire import (
        SignatureError,
        SignatureErrorKind,
        sign_webhook,
        verify_webhook,
    )

    try:
        verify_webhook(secret, derivation, headers, body, now, tolerance)
        return
    except SignatureError as exc:
        if exc.kind is not SignatureErrorKind.NO_MATCH:
            raise
        refusal = exc
    stamp = int(headers["webhook-timestamp"])
    expected = sign_webhook(secret, derivation, headers["webhook-id"], stamp, body)[3:]
    for entry in headers["webhook-signature"].split(" "):
        version, _, mac = entry.partition(",")
        if version == "v1" and len(mac) >= 12 and mac[:12] == expected[:12]:
            return
    raise refusal


def _set(attribute: str, value: Any) -> Callable[[ModuleType], None]:
    def install(module: ModuleType) -> None:
        setattr(module, attribute, value(module) if callable(value) and attribute == "VERIFY_DSTACK"
                else value)
    return install


def _plants() -> dict[str, Plant]:
    from conformance.protocol import solidity_abi as abi
    from conformance.reference.webhook.mutants import inner_selector_text, parse_sender_crashes

    items = [
        Plant("trailing-bytes-accepted", "execute_calldata", "bytes after the padded data are "
              "ignored", ("UO-017",), _set("DECODER", trailing_bytes_accepted)),
        Plant("length-off-by-one", "execute_calldata", "a length word one past the end is "
              "accepted", ("UO-017",), _set("DECODER", length_off_by_one)),
        Plant("webhook-dirty-address-ignoring", "decoder_agreement", "the webhook masks the "
              "target word to 20 bytes", ("WH-066", "WH-067"),
              _webhook(abi.decode_execute_dirty_address_ignoring)),
        Plant("webhook-fixed-offset", "decoder_agreement", "the webhook reads data at 0x64 "
              "whatever the offset word says", ("WH-066", "WH-067"),
              _webhook(abi.decode_execute_fixed_offset)),
        Plant("webhook-offset-trusting", "decoder_agreement", "the webhook follows offset and "
              "length unchecked", ("WH-066", "WH-067"),
              _webhook(abi.decode_execute_offset_trusting)),
        Plant("bootstrap-inner-at-fixed-offset", "decoder_agreement", "account mutant: the "
              "bootstrap reads the inner call at the canonical place", ("AC-035", "AC-034"),
              _account_mutant("bootstrap-inner-at-fixed-offset")),
        Plant("high-s-app-signature", "register_calldata", "the proof verifier accepts a high-s "
              "app signature", ("AT-003",),
              _set("VERIFY_DSTACK", lambda m: lenient_app_signature(m.verify_dstack_proof))),
        Plant("case-sensitive-selector", "webhook_body", "webhook mutant: the inner selector "
              "is read from the hex text, case and all", ("WH-029",),
              _set("READ_SELECTOR", inner_selector_text)),
        Plant("sender-crashes", "webhook_body", "webhook mutant: a sender that is not an "
              "address raises past BodyFormatError", ("RuntimeError",),
              _set("PARSE_ALCHEMY", parse_sender_crashes)),
        Plant("mac-prefix-compare", "webhook_signature", "the verifier compares a 12-character "
              "MAC prefix", ("WH-048",), _set("VERIFY", mac_prefix_compare)),
    ]
    return {p.name: p for p in items}


def plants() -> dict[str, Plant]:
    """Every planted bug by name."""
    return _plants()


def plant_into(module: ModuleType, name: str) -> Plant:
    """Install plant ``name`` into its target ``module`` (UsageError when it does not exist or
    belongs to another target)."""
    found = _plants()
    if name not in found:
        raise UsageError(f"--plant={name!r}: no such planted bug" + did_you_mean(name, found))
    plant = found[name]
    if plant.target != module.NAME:
        raise UsageError(f"--plant={name!r} belongs to target {plant.target!r}")
    plant.install(module)
    return plant
