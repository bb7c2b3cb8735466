"""Churn-risk prediction with explanations, ARR at risk, renewal forecast, prospect fit
and the ideal customer profile."""
