"""The monitoring configuration, rendered from one source for two profiles:
`production` (real clusters: kubernetes_sd_configs, production-like `for:`)
and `sandbox` (http_sd_configs from the sandbox, seconds-long durations).
Run `python -m gaudi3_scale.alerts render` after changing anything here."""
