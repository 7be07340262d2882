"""The `mlops` command line: one subcommand per box of the GitOps loop (control plane)."""
