"""HTTP only: routes parse, call one domain function, and shape the response."""
