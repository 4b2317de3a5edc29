"""Training: the trainer loop, resumable checkpoints, the SVM baseline, configs."""
from .config import TrainConfig, read_config_file
from .svm import fit_svm
from .trainer import Trainer


def train(train, validation, config: TrainConfig | None = None, out_dir=None, resume: bool = False, labels=None,
          progress: bool | None = None):
    """Train any model (``config.model`` may be ``'svm'``) and return a Classifier."""
    config = config or TrainConfig()
    if config.model == "svm":
        return fit_svm(train, validation, config, out_dir, labels)
    return Trainer(config, progress).fit(train, validation, out_dir, resume, labels)


__all__ = ["TrainConfig", "Trainer", "fit_svm", "train", "read_config_file"]
