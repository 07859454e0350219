"""Use cases of the volunteers service: one transaction each, state and outbox together."""
