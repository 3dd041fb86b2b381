"""``amc fuzz``: coverage-guided fuzzing of calldata decoding (atheris / libFuzzer).

  amc fuzz TARGET --seconds N --workers J [--corpus DIR] [--seed S] [--plant NAME]
  amc fuzz list                      targets with their rules, planted bugs
  amc fuzz replay [TARGET] [--input FILE]   every corpus entry and past finding (regression)
  amc fuzz seeds [TARGET]            regenerate the committed seeds and dictionaries
  amc fuzz promote CRASH             a finding → portable vector + explicit example
  amc fuzz decoder --callable pkg.module:function    a candidate's Python decoder
  amc fuzz account --artifact FILE   a candidate account's bootstrap parsing on the EVM
  amc fuzz webhook (--url URL | --launch CMD | --reference)   a webhook over HTTP

Exit codes: 0 nothing found, 1 findings (or replay failures), 2 bad input (one line).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from conformance.errors import UsageError

if TYPE_CHECKING:
    from conformance.fuzz.run_config import Progress

VERBS = ("list", "replay", "seeds", "promote", "decoder", "account", "webhook")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("fuzz", help="coverage-guided fuzzing of calldata decoding",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", metavar="TARGET|VERB", help="a target, or: " + ", ".join(VERBS))
    p.add_argument("arg", nargs="?", default=None, help="replay/seeds: TARGET; promote: CRASH")
    p.add_argument("--seconds", type=int, default=60, help="fuzzing budget (default 60)")
    p.add_argument("--workers", type=int, default=1, help="libFuzzer fork-mode workers")
    p.add_argument("--corpus", type=Path, default=None,
                   help="corpus directory (default corpora/<target>); findings in DIR/crashes")
    p.add_argument("--seed", type=int, default=None, help="libFuzzer's -seed")
    p.add_argument("--plant", default=None, help="fuzz with this planted bug (see amc fuzz list)")
    p.add_argument("--no-evm-feedback", action="store_true",
                   help="do not map EVM executions onto coverage counters")
    p.add_argument("--input", type=Path, default=None, help="replay: only this input")
    p.add_argument("--callable", dest="candidate", default=None, metavar="pkg.module:function")
    p.add_argument("--artifact", default=None, help="account: a compiled account artifact")
    p.add_argument("--url", default=None, help="webhook: a running webhook (no-5xx, no echo)")
    p.add_argument("--launch", default=None, help="webhook: a command that starts the webhook")
    p.add_argument("--reference", action="store_true", help="webhook: the reference webhook")
    p.set_defaults(handler=fuzz_command)


def fuzz_command(args: argparse.Namespace) -> int:
    from conformance.commands import fuzz_verbs as cli_verbs

    handlers = {"list": cli_verbs.list_verb, "replay": cli_verbs.replay_verb,
                "seeds": cli_verbs.seeds_verb, "promote": cli_verbs.promote_verb,
                "decoder": cli_verbs.decoder_verb, "account": cli_verbs.account_verb,
                "webhook": cli_verbs.webhook_verb}
    handler = handlers.get(args.what)
    if handler is not None:
        return handler(args)
    if args.arg is not None:
        raise UsageError(f"fuzz {args.what}: unexpected argument {args.arg!r}")
    return cli_verbs.run_verb(args, args.what)


class ProgressPrinter:
    """A live line on a TTY (rewritten in place); without one, a line every 10 s."""

    def __init__(self, stream: TextIO | None = None, every: float = 10.0) -> None:
        self.stream: TextIO = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = every if not self.tty else 0.5
        self.last = -1e9

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        line = progress.line()
        self.stream.write("\r\x1b[K" + line if self.tty else line + "\n")
        self.stream.flush()

    def done(self) -> None:
        """End the live line."""
        if self.tty:
            self.stream.write("\n")
