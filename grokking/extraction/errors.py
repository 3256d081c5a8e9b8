class ExtractionError(RuntimeError):
    """Bad input to extraction (a missing run, an analysis epoch that does not exist, ...)."""
