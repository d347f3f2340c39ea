"""What the command says when the user got something wrong: one Chinese line on stderr, exit status 2."""


class UserError(Exception):
    """A mistake in what was asked of the command (a missing file, an unknown region), not a bug."""
