"""bookplan's engine: pure (pydantic + OR-Tools + stdlib), importable and benchmarkable alone."""
