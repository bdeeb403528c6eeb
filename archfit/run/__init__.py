"""Running searches: the orchestrator, the trial store, and the executors."""
