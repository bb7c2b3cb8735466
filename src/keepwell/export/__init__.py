"""Write-back: health scores, churn risk and MRR movements exported to a table on the
analytics engine or the operational database, or to CSV/Parquet, for BI tools and CRMs."""
