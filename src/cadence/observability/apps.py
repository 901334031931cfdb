from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "cadence.observability"
    label = "observability"

    def ready(self) -> None:
        # Every task of every backend, whoever wrote it: a failure is logged with its name,
        # its arguments and its traceback.
        from django_tasks.signals import task_finished

        from cadence.observability.logs import log_task_failure

        task_finished.connect(log_task_failure, dispatch_uid="cadence-log-task-failure")
