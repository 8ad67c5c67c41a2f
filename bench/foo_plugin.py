"""The built-in Foo served as a plugin (`--controller bench.foo_plugin:FOO_AS_PLUGIN`).

Same hook, plugin path: the benchmark compares the two to show what being a plugin costs.
Kept tiny, so loading it at start-up measures discovery, not this module's imports.
"""

from __future__ import annotations

from dataclasses import replace

from hooks.controllers import foo
from hooks.sdk import Controller

FOO_AS_PLUGIN: Controller = replace(
    foo.CONTROLLER,
    name="foo-plugin",
    kind=replace(foo.CONTROLLER.kind, kind="FooPlugin", plural="fooplugins"),
)
