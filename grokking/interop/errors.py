"""The one error type of interop: bad input the user can fix (grokking prints it as one line,
exit code 2)."""
from grokking.common.errors import UserError


class InteropError(UserError, RuntimeError):
    """An export or import the user can fix; the message says how."""
