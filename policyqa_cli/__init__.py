"""The `policyqa` command: a face over the library (policyqa), like the web face (qa_server)."""
