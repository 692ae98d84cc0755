"""The optimisers' one-pass Numba updates (:mod:`chainrule.kernels.compiled.optimizers`), registered lazily.

Registering imports no Numba: each registered ``update`` loads the compiled module at its first call
(a script that never steps an optimiser never imports Numba), and returns False where it does not
apply, so the optimiser runs its NumPy ``update`` for that parameter.
"""

from chainrule.autograd.seam import register
from chainrule.kernels import compiled
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.sgd import SGD


def _compiled_update(name):
    def update(optimizer, p, g, state, group):
        module = compiled.load("optimizers")
        return module is not None and getattr(module, name)(optimizer, p, g, state, group)

    update.__name__ = name
    return update


def _numba_on(op, *arrays):
    return compiled.enabled()


for _class, _name in ((RMSprop, "rmsprop"), (Adam, "adam"), (AdamW, "adam"), (SGD, "sgd")):
    register(_class, update=_compiled_update(_name), applies=_numba_on)
