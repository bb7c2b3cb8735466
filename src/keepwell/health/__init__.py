"""Customer health: measures, scorecards, segments, journey stages, snapshots, back-test."""
