"""daipin (带贫益贫): poverty-alleviation industrial projects, their benefit linkage, decisions and money."""

__version__ = "0.1.0"
