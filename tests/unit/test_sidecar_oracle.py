"""The sidecar oracle's judges on hand-built transcripts (issue 9): each rule's judge passes a
conforming exchange sequence and catches the defect it names, with the exchanges as evidence;
a run that never reached the rule's precondition is NotJudged, never a PASS."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.oracle.sidecar import (
    NotJudged,
    RunView,
    judge_dummy_signature,
    judge_nonce_call,
    judge_nonce_failure,
    judge_nonce_fresh,
    judge_nonce_source,
    judge_paymaster_required,
    judge_pimlico_fees,
)
from conformance.oracle.sidecar_flow import (
    judge_backoff_numbers,
    judge_error_ends_attempt,
    judge_no_tight_loop,
    judge_rate,
)
from conformance.profiles.loader import load_profile
from conformance.protocol.hexutil import to_data
from conformance.protocol.signatures import DUMMY_SIGNATURE, to_high_s

MEMBER = "0x" + "ab" * 20
EP = "0x0000000071727de22e5e9d8baf0edac6f37da032"
NONCE_DATA = "0x35567e1a" + "00" * 12 + "ab" * 20 + "00" * 32
DUMMY = to_data(DUMMY_SIGNATURE)
PRICES = {"slow": {"maxFeePerGas": "0x1", "maxPriorityFeePerGas": "0x1"},
          "standard": {"maxFeePerGas": "0x7d0", "maxPriorityFeePerGas": "0x5dc"},
          "fast": {"maxFeePerGas": "0xbb8", "maxPriorityFeePerGas": "0x7d0"}}
PAID = {"paymaster": "0x" + "22" * 20, "paymasterData": "0x01",
        "paymasterVerificationGasLimit": "0x1", "paymasterPostOpGasLimit": "0x0"}


def ex(t: float, method: str, params: Any, *, peer: str = "bundler", result: Any = "0x",
       error: dict[str, Any] | None = None, fault: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"t": t, "d": 0.001, "peer": peer, "path": "/", "method": method,
                           "params": params}
    if error is not None:
        out["error"] = error
    else:
        out["result"] = result
    if fault:
        out["fault"] = fault
    return out


def nonce(t: float, value: int = 0, *, peer: str = "node", tag: str = "latest",
          **kw: Any) -> dict[str, Any]:
    return ex(t, "eth_call", [{"to": EP, "data": NONCE_DATA}, tag], peer=peer,
              result="0x" + f"{value:064x}", **kw)


def sponsor(t: float, nonce_value: int = 0, *, call: str = "0x01", fees: str = "standard",
            result: Any = None, **kw: Any) -> dict[str, Any]:
    op = {"sender": MEMBER, "nonce": hex(nonce_value), "callData": call, "signature": DUMMY,
          **PRICES[fees]}
    return ex(t, "pm_sponsorUserOperation",
              [op, EP, {"sponsorshipPolicyId": "sp_x"}], result=PAID if result is None
              else result, **kw)


def view(*items: dict[str, Any], registered: bool = True) -> RunView:
    return RunView(transcript=tuple(items), member=MEMBER, owner="0x" + "cd" * 20,
                   cluster="0x" + "ef" * 20, chain_id=84532, entry_point=EP, dialect="pimlico",
                   policy_id="sp_x", allowlist=load_profile("pimlico").allowlist(),
                   initial=0.05, cap=0.6, window=0.6, max_requests=12, registered=registered)


PRICE = ex(0.0, "pimlico_getUserOperationGasPrice", [], result=PRICES)


def test_nonce_source() -> None:
    assert judge_nonce_source(view(nonce(0.0), sponsor(0.1))) is None
    found = judge_nonce_source(view(nonce(0.0, peer="bundler"), sponsor(0.1)))
    assert found is not None and "bundler" in found.message and found.evidence
    counted = ex(0.0, "eth_getTransactionCount", [MEMBER, "latest"], peer="node", result="0x7")
    assert judge_nonce_source(view(counted, sponsor(0.1, 7))) is not None
    with pytest.raises(NotJudged):
        judge_nonce_source(view())


def test_nonce_call_key_and_tag() -> None:
    assert judge_nonce_call(view(nonce(0.0))) is None
    assert judge_nonce_call(view(nonce(0.0, tag="pending"))) is not None


@pytest.mark.parametrize(("items", "ok"), [
    ((nonce(0.0, 3), sponsor(0.1, 3), nonce(0.2, 4), sponsor(0.3, 4)), True),
    ((nonce(0.0, 3), sponsor(0.1, 3), sponsor(0.3, 4)), False),          # cached, counted up
    ((nonce(0.0, 3), sponsor(0.1, 5)), False),                            # invented
    ((sponsor(0.1, 0),), False),                                          # no read at all
])
def test_nonce_fresh(items: tuple[dict[str, Any], ...], ok: bool) -> None:
    assert (judge_nonce_fresh(view(*items)) is None) is ok


def test_nonce_failure_never_defaults() -> None:
    failed = nonce(0.0, error={"code": -32000, "message": "x"})
    assert judge_nonce_failure(view(failed, nonce(0.1, 0), sponsor(0.2))) is None
    assert judge_nonce_failure(view(failed, sponsor(0.2))) is not None
    reset = nonce(0.0, fault="reset")
    assert judge_nonce_failure(view(reset, sponsor(0.2))) is not None
    with pytest.raises(NotJudged):
        judge_nonce_failure(view(nonce(0.0), sponsor(0.1)))


def test_pimlico_standard_fees() -> None:
    assert judge_pimlico_fees(view(PRICE, sponsor(0.1))) is None
    assert judge_pimlico_fees(view(PRICE, sponsor(0.1, fees="fast"))) is not None
    assert judge_pimlico_fees(view(sponsor(0.1))) is not None


def test_paymaster_fields_required() -> None:
    bare = sponsor(0.1, result={"callGasLimit": "0x1"})
    send = ex(0.2, "eth_sendUserOperation", [{}, EP], result="0x" + "11" * 32)
    assert judge_paymaster_required(view(bare, nonce(0.15), sponsor(0.16), send)) is None
    assert judge_paymaster_required(view(bare, send)) is not None


def test_dummy_signature_classes() -> None:
    assert judge_dummy_signature(view(sponsor(0.1))) is None
    high = sponsor(0.1)
    high["params"][0]["signature"] = to_data(to_high_s(DUMMY_SIGNATURE))
    assert judge_dummy_signature(view(high)) is not None
    odd = sponsor(0.1)
    odd["params"][0]["signature"] = DUMMY[:-1]
    assert judge_dummy_signature(view(odd)) is not None


DECLINED = {"code": -32500, "message": "declined"}


def _declines(waits: list[float]) -> list[dict[str, Any]]:
    items, t = [], 0.0
    for wait in waits:
        items.append(sponsor(t, error=DECLINED))
        t += 0.001 + wait
        items.append(nonce(t))
        t += 0.001
    items.append(sponsor(t))
    return items


def test_backoff_quiet_times() -> None:
    good = _declines([0.05, 0.1, 0.2, 0.4, 0.6, 0.6])
    assert judge_no_tight_loop(view(*good)) is None
    assert judge_backoff_numbers(view(*good)) is None
    flat = _declines([0.05] * 4)
    assert judge_no_tight_loop(view(*flat)) is None
    assert judge_backoff_numbers(view(*flat)) is not None
    tight = _declines([0.0] * 3)
    assert judge_no_tight_loop(view(*tight)) is not None


def test_rate_window() -> None:
    spaced = [sponsor(i * 0.06, call=f"0x{i:02x}") for i in range(13)]
    assert judge_rate(view(*spaced)) is None
    packed = [sponsor(i * 0.01, call=f"0x{i:02x}") for i in range(13)]
    found = judge_rate(view(*packed))
    assert found is not None and len(found.evidence) == 13


def test_error_ends_attempt() -> None:
    failed = ex(0.0, "pimlico_getUserOperationGasPrice", [], error={"code": -1, "message": "x"})
    assert judge_error_ends_attempt(view(failed, nonce(0.1), PRICE, sponsor(0.2))) is None
    assert judge_error_ends_attempt(view(failed, sponsor(0.1))) is not None


# -- the profile's [sidecar] table ------------------------------------------------------------

def _profile_with(tmp_path: Any, table: str) -> Any:
    from conformance.profiles.loader import PROFILE_DIR

    text = (PROFILE_DIR / "pimlico.toml").read_text().split("\n[sidecar]")[0]
    path = tmp_path / "p.toml"
    path.write_text(text + "\n[sidecar]\n" + table)
    return load_profile(str(path))


def test_sidecar_defaults_are_section_7() -> None:
    from conformance.profiles.loader import SidecarSettings

    dflt = SidecarSettings()
    assert (dflt.backoff_initial_seconds, dflt.backoff_cap_seconds,
            dflt.max_sponsorships_per_minute, dflt.receipt_polls,
            dflt.receipt_interval_seconds, dflt.time_factor) == (5.0, 60.0, 12, 30, 2.0, 1.0)
    assert load_profile("pimlico").sidecar.time_factor == 0.01


@pytest.mark.parametrize(("table", "words"), [
    ("time_factor = 0\n", "sidecar.time_factor"),
    ("backoff_initial_seconds = \"5\"\n", "sidecar.backoff_initial_seconds"),
    ("backoff_cap_seconds = 1\n", "at least sidecar.backoff_initial_seconds"),
    ("max_sponsorships_per_minute = 0\n", "sidecar.max_sponsorships_per_minute"),
    ("backof_cap_seconds = 60\n", "did you mean"),
])
def test_bad_sidecar_table_is_one_line_usage_error(tmp_path: Any, table: str, words: str) -> None:
    from conformance.errors import UsageError

    with pytest.raises(UsageError) as raised:
        _profile_with(tmp_path, table)
    assert words in str(raised.value) and "\n" not in str(raised.value)
