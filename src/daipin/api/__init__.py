"""The JSON API under /api/v1: one router per feature, each calling the services through `daipin.http`."""
