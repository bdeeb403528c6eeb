"""Built-in reference models for ``archfit slim`` (and tests): short names map to classes in this package.

Every class takes ``num_classes`` and ``in_channels`` (or ``input_shape``), so ``archfit slim`` can size
it from the data; any other constructor argument comes from ``--model-args``.
"""

from __future__ import annotations

BUILTIN = {
    "resnet20": "archfit.models.resnet:ResNet20",
    "resnet56": "archfit.models.resnet:ResNet56",
    "resnet1d": "archfit.models.resnet:ResNet1d",
    "mobilenetv2": "archfit.models.mobilenet:MobileNetV2",
    "vit": "archfit.models.vit:ViT",
    "cnn1d": "archfit.models.conv1d:CNN1d",
    "concat": "archfit.models.toys:ConcatNet",
    "grouped": "archfit.models.toys:GroupedNet",
    "se_dense": "archfit.models.toys:SEDenseNet",
    "densenet": "archfit.models.densenet:DenseNet",
    "se_resnet": "archfit.models.se_resnet:SEResNet",
    "resnext": "archfit.models.resnext:ResNeXt",
}

__all__ = ["BUILTIN"]
