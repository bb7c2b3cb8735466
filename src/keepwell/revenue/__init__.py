"""Revenue and retention analytics: MRR ledger, movements, KPIs, renewals, cohorts."""
