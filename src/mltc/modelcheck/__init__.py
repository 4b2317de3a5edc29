"""Checks for model folders: a model folder is self-contained and untrusted.

Every file of a saved model is read as data that may be damaged or hostile. The helpers
here turn every problem into one :class:`ModelFormatError` that names the file and what
is wrong with it, and they keep loading inside the folder:

- :func:`read_model_json` reads a JSON file and checks its top-level type;
- :func:`inside` resolves a stored relative path under the folder (symlinks included)
  and refuses absolute paths and anything that escapes;
- :func:`require` and friends check the type and range of single values;
- :func:`safetensors_shapes` reads a weights file's header without loading it;
- :func:`blame` is a safety net that reports any other failure against one file;
- :func:`public_name` and :func:`scrub_config` keep absolute paths of the training
  machine out of what is saved;
- :func:`open_model_meta`, :func:`check_labels_dict`, :func:`check_decision_dict` and
  :func:`check_weights_match` check whole files.

The parts: :mod:`.errors` (the error, reading JSON, :func:`blame`), :mod:`.values` (single
values), :mod:`.paths` (stored paths, saved configurations), :mod:`.files` (whole files).
Import from ``mltc.modelcheck``.
"""
from .errors import ModelFormatError, blame, read_model_json
from .files import (DECISION_KEYS, check_decision_dict, check_labels_dict, check_meta, check_network_spec,
                    check_weights_match, open_model_meta, safetensors_shapes)
from .paths import (MACHINE_OPTIONS, check_folder_self_contained, check_tree_inside, inside, is_local_path, public_name,
                    scrub_config)
from .task import GRADED_TASK_KEYS, MAX_ASPECTS, MAX_LEVELS, check_graded_task, graded_task_loss
from .values import (MAX_NGRAM, SAFE_ANALYZERS, SAFE_STOP_WORDS, SAFE_TOKEN_PATTERNS, check_csr, ngram_range, number_list,
                     only_keys, require, require_int, require_number, string_list)

__all__ = [
    "DECISION_KEYS", "GRADED_TASK_KEYS", "MAX_ASPECTS", "MAX_LEVELS", "check_graded_task", "graded_task_loss", "MACHINE_OPTIONS",
    "MAX_NGRAM", "SAFE_ANALYZERS", "SAFE_STOP_WORDS", "SAFE_TOKEN_PATTERNS",
    "ModelFormatError", "blame", "check_csr", "check_decision_dict", "check_folder_self_contained", "check_labels_dict",
    "check_meta",
    "check_network_spec", "check_tree_inside", "check_weights_match", "inside", "is_local_path", "ngram_range",
    "number_list", "only_keys", "open_model_meta", "public_name", "read_model_json", "require", "require_int",
    "require_number", "safetensors_shapes", "scrub_config", "string_list",
]
