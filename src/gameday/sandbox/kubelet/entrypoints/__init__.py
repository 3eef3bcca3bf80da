"""Programs that stand in for an image's entrypoint script inside a pod."""
