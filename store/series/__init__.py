"""Metric series: columns, checks, Parquet frames and downsampling."""
