"""Lead the team: teams and books of business, coverage and capacity, targets and
attainment, "why did it move", cost to serve and the leader's scorecard."""
