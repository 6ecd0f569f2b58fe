"""EventBridge: putting the integration's outbound events on the engine bus (the one module that calls PutEvents)."""
