"""The one exception type users see: bad input, reported as one line and exit code 2."""


class ArchfitError(Exception):
    """A user-facing error: the message names the bad value and what was expected."""
