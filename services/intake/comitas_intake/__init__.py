"""intake: complaints, evidence, consent and the admissibility assessment."""
