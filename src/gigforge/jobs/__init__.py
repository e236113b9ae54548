"""Won work: jobs, their agent tasks, deliverables, revisions and delivery."""
