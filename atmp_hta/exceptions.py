"""Exceptions raised by atmp_hta.

Every error names the parameter (or field path), the allowed range and the value received, so that the
command line can print it as one line and a dashboard can show it next to the offending input.
"""

__all__ = ["ParameterError", "ModelError", "invalid"]


class ParameterError(ValueError):
    """A parameter file or a function argument is invalid.

    Attributes
    ----------
    field : str
        Dotted path of the offending field (``"tree.treatment.branches[0].probability"``) or argument name.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class ModelError(ValueError):
    """The model cannot be evaluated with these inputs (e.g. a complement probability became negative)."""


def invalid(name: str, allowed: str, got: object, where: str | None = None) -> ParameterError:
    """Build the project's one message for a bad parameter.

    Examples
    --------
    >>> str(invalid("rate", "in [0, 1)", 1.5, where="discounted_qalys"))
    "The 'rate' parameter of discounted_qalys must be in [0, 1). Got 1.5."
    """
    of = f" of {where}" if where else ""
    return ParameterError(f"The '{name}' parameter{of} must be {allowed}. Got {got!r}.", field=name)
