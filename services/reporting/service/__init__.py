"""Use cases of the reporting service: summaries, targets, dashboard, exports, replay, periodic jobs."""
