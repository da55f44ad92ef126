"""minicall: typed Python functions become LLM API calls, on the standard library alone."""
