"""Quantization: onnxruntime int8 post-training quantization verified on the executed graph, low-bit weight
passes (STE, searchable discrete weights, learned binarization), and the ``compress`` pipeline."""

from archfit.quantize.inspect import LayerQuant, layer_report
from archfit.quantize.lowbit import LowBitConfig, lowbit_pass
from archfit.quantize.pipeline import CompressConfig, CompressResult, compress
from archfit.quantize.ptq import QuantConfig, Quantized, quantize_model, quantize_onnx
from archfit.quantize.qat import QATConfig, qat_train

__all__ = ["CompressConfig", "CompressResult", "LayerQuant", "LowBitConfig", "QATConfig", "QuantConfig", "Quantized", "compress",
           "layer_report", "lowbit_pass", "qat_train", "quantize_model",
           "quantize_onnx"]
