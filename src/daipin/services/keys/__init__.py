"""Personal-data keys: rotation of the data key (`daipin keys rotate`) and the keys' status."""
