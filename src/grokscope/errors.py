"""One exception type for bad user input, so the CLI can print it as one line."""


class ConfigError(ValueError):
    """A user-facing error: names the field, the value and what is allowed.

    Raised at the boundary (config load, task and split construction) so that a researcher
    sees `task 'modular': p must be a prime >= 3 for op 'a/b', got 10` instead of a traceback
    from deep inside torch.
    """
