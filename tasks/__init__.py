"""arq jobs: thin wrappers that open what a request would and call one service function."""
