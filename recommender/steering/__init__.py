"""Steering: what people decide rather than what the logs say. The playbook prior (editable
YAML), channel managers' overrides (pin, boost, hide, with expiry and an audit log) and the
partner profiles."""
