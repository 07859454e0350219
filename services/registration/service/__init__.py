"""Use cases of the registration service: one async function per command, each one transaction."""
