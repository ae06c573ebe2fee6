"""Reaching partners: what a channel manager pushes to them, and whether it worked.

awareness   relevant assets a partner never opened (the engine over its typical deals)
digests     per partner, the top of those not sent before, in its language, as md/html/json
store       digests as sent (console database, audited)
links       signed, expiring tracked links (/r/{token}) that record an open and redirect
portfolio   a manager's partners at a glance: engagement, open deals, unopened content,
            the last digest and how much of it was opened
"""
