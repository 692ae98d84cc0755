"""Weight initialisers, drawn from ``chainrule.manual_seed``'s generator so that runs repeat.

Each takes a Tensor (usually a Parameter) and fills its data in place, returning it.
"""
