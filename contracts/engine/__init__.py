"""The engine: targets, the run's context and results, the suite's session against a started target, and the
helpers of the fault properties. It calls targets and records what happened; reporters read the records."""
