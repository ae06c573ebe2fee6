"""Learning: from usage logs to a registered model version, one module per step.

data         LearningData (events, catalog, playbook, partners, deals) and the time Split
deal_text    each deal's notes against every asset, as serving compares a request's
encoder      PairEncoder: (partner, deal, stage, time, asset) rows -> serving's features
examples     training examples of a window, and the rows the ranker is fitted on
queries      a window's query sets: what calibration fits on and evaluation ranks
calibration  Platt calibration of model and prior, the cold-start blend
evaluation   the offline protocol against baselines (and an oracle), evaluate_version
truth        metrics against the true utility, when an oracle knows it
off_policy   IPS, SNIPS and DR estimates of a slate policy's engagement from logged
             propensities, and the position bias from the logs (a package: slates,
             position_bias, estimators)
train        train(): the stages in order (refit on all data last), fit_scorer, the manifest
metrics      ranking metrics (trec_eval conventions)
model_card   the HTML card of a version
oracle       the Oracle protocol (a simulator's true utility)
"""
