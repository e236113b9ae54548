"""Third-party integrations: the framework every vendor stands on, and one package per vendor."""
