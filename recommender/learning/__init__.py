"""Learning: from usage logs to a registered model version. Training data and examples, the
pair encoder, fitting and calibration, the offline evaluation against baselines (and an oracle
when one is given), ranking metrics and the model card."""
