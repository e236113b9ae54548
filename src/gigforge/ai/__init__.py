"""AI: choosing a model per task, keeping to budgets, masking personal data, caching."""
