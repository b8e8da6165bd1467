"""Argument types shared by the command-line modules (one message for each bad value)."""

from __future__ import annotations

import argparse

__all__ = ["draws_argument", "seed_argument"]


def draws_argument(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--draws must be a whole number in [1, 10000000]; got {text!r}") from None
    if not 1 <= value <= 10_000_000:
        raise argparse.ArgumentTypeError(f"--draws must be a whole number in [1, 10000000]; got {value}")
    return value


def seed_argument(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seed must be a whole number >= 0; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"--seed must be a whole number >= 0; got {value}")
    return value
