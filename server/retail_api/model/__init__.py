"""Runtime side of the compiled forest: artifact format, loader, encoder, evaluator."""
