"""The fitter registry, :data:`FITTERS`, on its own: :mod:`mltc.training.fitters` fills it.

Kept apart from the fitters themselves so that the configuration (which reads a fitter's
defaults) does not import the fitters (which import the configuration).
"""
from __future__ import annotations

from ..registry import Registry

#: fitter name -> factory ``(config, progress)`` with metadata ``uses``, ``optimizers``, ``defaults``, ``how``
FITTERS = Registry("fitter", defaults={"uses": (), "optimizers": (), "defaults": {}, "how": ""})
