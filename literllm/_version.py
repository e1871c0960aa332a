"""The package version, in a module of its own so low-level code need not import the
package root."""

__version__ = "0.1.0"
