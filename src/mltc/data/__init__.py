"""Data: readers, named data sets, the label space and label statistics."""
from .examples import DatasetSplits, Example, labels_of, make_examples, texts_of
from .labels import DEFAULT_GROUP_CUTS, EncodedLabels, LabelSpace, label_groups
from .readers import DataFormatError, read_csv, read_fasttext, read_file, read_jsonl, read_texts
from .registry import DATASETS, data_dir, load_dataset, load_files
from .stats import cooccurrence, dataset_statistics, format_statistics, label_count_groups

__all__ = [
    "Example", "DatasetSplits", "texts_of", "labels_of", "make_examples",
    "LabelSpace", "EncodedLabels", "label_groups", "DEFAULT_GROUP_CUTS",
    "DataFormatError", "read_csv", "read_jsonl", "read_fasttext", "read_file", "read_texts",
    "DATASETS", "data_dir", "load_dataset", "load_files",
    "dataset_statistics", "format_statistics", "cooccurrence", "label_count_groups",
]
