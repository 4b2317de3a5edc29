"""Reports: paper-style tables and (with matplotlib) figures."""
from .tables import format_evaluation, markdown_table2, markdown_table3, table2_rows, table3_rows, to_csv

__all__ = ["format_evaluation", "markdown_table2", "markdown_table3", "table2_rows", "table3_rows", "to_csv"]
