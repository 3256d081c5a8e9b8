"""The one error type a user can fix. Every refusal in every stage derives from UserError; its
message is one line saying what is wrong and what to do. The command line catches UserError once
and exits 2 with that line (no traceback); anything else is a bug and keeps its traceback."""
from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; the message says how."""


class ConfigError(UserError, ValueError):
    """A bad setting, name or path; the message says what is wrong and how to fix it."""


class RunBusy(UserError, RuntimeError):
    """Another process holds this run: one line naming its pid."""
