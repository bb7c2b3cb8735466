"""Customer-success operations: rules and playbooks, CTAs and tasks, success plans,
timeline and product feedback, references, and the cycle that runs them."""
