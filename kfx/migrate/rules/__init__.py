"""The rule families of ``kfx migrate``, one module each; importing this registers them all.

- :mod:`~kfx.migrate.rules.imports` (K30xx): Keras 2 modules that moved or went away.
- :mod:`~kfx.migrate.rules.arguments` (K31xx): renamed or removed arguments.
- :mod:`~kfx.migrate.rules.methods` (K32xx): removed methods and TensorFlow 1 sessions.
- :mod:`~kfx.migrate.rules.saving` (K33xx): code that saves but does not reload safely.
- :mod:`~kfx.migrate.rules.addons` (K34xx): TensorFlow Addons, which has no Keras 3 release.
- :mod:`~kfx.migrate.rules.symbolic` (K35xx): TensorFlow ops, loops and losses on the Keras
  tensors of a functional model.
"""

from kfx.migrate.rules import addons, arguments, imports, methods, saving, symbolic  # noqa: F401
