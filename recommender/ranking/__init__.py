"""Ranking: one request against one immutable snapshot. Snapshot building, candidates,
eligibility, the content scorer (playbook prior) and the learned scorer, steering, diversity
and the reasons shown with each item."""
