"""Where cases listens to the stage before it (alerts.signals.alert_raised)."""
