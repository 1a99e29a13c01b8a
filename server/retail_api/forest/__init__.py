"""The compiled random forest: artifact format, loader, encoder, evaluator."""
