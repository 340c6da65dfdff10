"""Built-in alert rules, one module each, registered in pyproject.toml under `brandpulse.alert_rules`."""
