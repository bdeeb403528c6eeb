"""DARTS (Liu, Simonyan & Yang, ICLR 2019), first order: softmax mixture, alternating steps, argmax.

Known failure: on NAS-Bench-201 its argmax cell collapses to skip connections (54.3 % CIFAR-10 in the
NAS-Bench-201 paper); ``bench/differentiable.py`` reproduces and reports it.
"""

from archfit.differentiable.method import Method, register_method


@register_method("darts")
class Darts(Method):
    """The base hooks unchanged."""
