"""Certifications: courses for levels 1-3, exams graded on the server, levels that expire and
gate automation (see docs/certifications.md)."""
