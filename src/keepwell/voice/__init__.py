"""The customer's voice: surveys sent and answered, shared success plans, the customer's
own success measures, and the business review the customer can be given."""
