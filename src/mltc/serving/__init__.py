"""Using a trained model: batch prediction (and the HTTP server)."""
