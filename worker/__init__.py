"""The GPU side of genqueue: the Celery app, its tasks, datasets, models and training."""
