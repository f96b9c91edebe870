"""The error types the library raises for problems a user can fix.

The CLI turns any `PpidError` into one line on stderr (no traceback), so every message must name the
file or setting at fault and say what is wrong with it.
"""


class PpidError(Exception):
    """A problem with the user's input or settings, reported as one line."""


class ImageReadError(PpidError):
    """A file that cannot be decoded as an image (missing, empty, corrupt, not an image)."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class InputMismatchError(PpidError):
    """Files that exist and decode but do not fit together (sizes, missing partners)."""


class UsageError(PpidError):
    """Options or arguments that cannot work together; the CLI exits with status 2 (as for a typo)."""
