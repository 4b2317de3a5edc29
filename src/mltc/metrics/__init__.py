"""Metrics: micro/macro P/R/F1, label groups, P@k, nDCG@k, confused pairs."""
from .classification import confusion_counts, micro_macro, precision_recall_f1, prf_from_counts
from .confusion import confused_pairs
from .evaluate import METRIC_NAMES, MetricAccumulator, evaluate
from .ranking import ndcg_at_k, precision_at_k

__all__ = ["confusion_counts", "micro_macro", "precision_recall_f1", "prf_from_counts", "confused_pairs",
           "evaluate", "MetricAccumulator", "METRIC_NAMES", "precision_at_k", "ndcg_at_k"]
