"""Finance reports for an issued period: warehouse queries -> polars frames -> CSV, charts, HTML and PDF."""
