from grokking.common.errors import UserError


class ExtractionError(UserError, RuntimeError):
    """Bad input to extraction (a missing run, an analysis epoch that does not exist, ...)."""
