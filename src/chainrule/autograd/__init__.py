"""Automatic differentiation: the Tensor, the backward engine, forward mode and function transforms."""

from chainrule.autograd.forward import jvp
from chainrule.autograd.function import Function, FunctionCtx
from chainrule.autograd.functional import grad_of as grad
from chainrule.autograd.functional import hvp, jacobian, value_and_grad, vjp
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck
from chainrule.autograd.mode import (
    detect_anomaly,
    enable_grad,
    inference_mode,
    is_anomaly_enabled,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from chainrule.autograd.op import Op
from chainrule.autograd.tensor import Tensor

__all__ = ["Function", "FunctionCtx", "Op", "Tensor", "detect_anomaly", "enable_grad", "grad", "gradcheck",
           "gradgradcheck", "hvp", "inference_mode", "is_anomaly_enabled", "is_grad_enabled",
           "is_inference_mode_enabled", "jacobian", "jvp", "no_grad", "set_detect_anomaly",
           "set_grad_enabled", "value_and_grad", "vjp"]
