"""The village feature: a village's recorded list of representatives (村民代表) and what the registry says a
village meeting may count on (eligible adults, households, representatives on the meeting day)."""
