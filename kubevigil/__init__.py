"""kubevigil: cluster health shipped to places that stay up when the cluster does not."""

__version__ = "0.1.0"
