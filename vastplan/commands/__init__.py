"""The use cases (plan, apply, destroy, state ..., orphans, cost): each reads state, runs the pipeline
and hands its results to a view. ``steps`` holds what they share."""
