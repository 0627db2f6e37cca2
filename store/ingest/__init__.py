"""Ingestion: turning what training jobs drop (native manifests, Hugging Face folders, MLflow
models and tracking stores) into store versions, and the drop-folder protocol around it."""
