"""Learning: from usage logs to a registered model version, one module per step.

data         LearningData (events, catalog, playbook, partners, deals) and the time Split
deal_text    each deal's notes against every asset, as serving compares a request's
encoder      PairEncoder: (partner, deal, stage, time, asset) rows -> serving's features
examples     training examples of a window, and the rows the ranker is fitted on
queries      a window's query sets: what calibration fits on and evaluation ranks
calibration  Platt calibration of model and prior, the cold-start blend
evaluation   the offline protocol against baselines (and an oracle), evaluate_version
train        train(): the stages in order, fit_scorer, the manifest
metrics      ranking metrics (trec_eval conventions)
model_card   the HTML card of a version
oracle       the Oracle protocol (a simulator's true utility)
"""
