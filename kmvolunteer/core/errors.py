"""The one exception services raise for a rule the user broke."""


class ServiceError(Exception):
    """A refused change, with a message for the user. Nothing was changed."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
