"""The HTTP face: app assembly, error mapping, authentication dependencies."""
