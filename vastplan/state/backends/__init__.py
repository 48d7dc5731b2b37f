"""Where state lives: each backend implements ``vastplan.state.model.StateBackend``."""
