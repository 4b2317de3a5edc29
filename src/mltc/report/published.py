"""Published Reuters-21578 numbers of Huang et al. (2021), Tables 2 and 3 (micro / macro F1)."""

#: row -> group -> (micro-F1, macro-F1); '-' in the paper is left out.
TABLE2 = {
    "svm": {"total": (87.60, 51.63), "head": (89.87, 78.47), "medium": (66.92, 61.00), "tail": (22.54, 13.83)},
    "bce": {"total": (89.14, 47.32), "head": (91.75, 82.81), "medium": (66.28, 57.26), "tail": (0.00, 0.00)},
    "fl": {"total": (89.97, 56.83), "head": (91.83, 82.64), "medium": (76.16, 70.63), "tail": (27.40, 15.37)},
    "cb": {"total": (89.23, 52.96), "head": (91.56, 80.44), "medium": (71.64, 66.61), "tail": (23.08, 9.93)},
    "r-fl": {"total": (89.47, 54.35), "head": (91.59, 80.39), "medium": (72.86, 66.69), "tail": (25.00, 14.22)},
    "ntr-fl": {"total": (90.70, 60.70), "head": (92.37, 82.65), "medium": (79.35, 75.34), "tail": (39.51, 22.33)},
    "db-0fl": {"total": (89.45, 57.98), "head": (91.21, 82.05), "medium": (77.33, 71.11), "tail": (31.17, 19.05)},
    "cb-ntr": {"total": (90.74, 63.31), "head": (92.46, 83.28), "medium": (78.42, 72.98), "tail": (46.32, 32.31)},
    "db": {"total": (90.62, 64.47)},
}

#: Table 3 (Reuters): texts with 1 gold label vs more than 1, for the rows the reference gives.
TABLE3 = {
    "bce": {"1": (94.11, 41.44), ">1": (76.26, 33.11)},
    "db": {"1": (94.49, 54.31), ">1": (81.17, 50.12)},
}
