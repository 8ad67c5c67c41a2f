"""The spec strategies live in the test kit (hooks.testing.strategies); kept for old imports."""

from hooks.testing.strategies import HOSTILE_STRINGS, from_schema, relaxed

__all__ = ["HOSTILE_STRINGS", "from_schema", "relaxed"]
