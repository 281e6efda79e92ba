"""Tools for developing and demonstrating envpayload; nothing here runs in the operator."""
