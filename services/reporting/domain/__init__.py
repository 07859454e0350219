"""The reporting service's rules, without infrastructure: projections, targets and pace, deadlines."""
