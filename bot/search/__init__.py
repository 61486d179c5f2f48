"""Text analysis, the BM25 index and query understanding."""
