"""Errors of the tasks domain."""

from __future__ import annotations

from quantlab.platform.errors import Conflict, NotFound, ValidationFailed


class JobNotFound(NotFound):
    code = "JOB_NOT_FOUND"
    status = 404
    description = "The job does not exist or is not yours."


class JobNotPausable(Conflict):
    code = "JOB_NOT_PAUSABLE"
    status = 409
    description = "The job's type cannot checkpoint, so it cannot be paused."


class JobNotFinished(Conflict):
    code = "JOB_NOT_FINISHED"
    status = 409
    description = "Only completed, failed or cancelled jobs can be deleted."


class JobResultMissing(NotFound):
    code = "JOB_RESULT_NOT_FOUND"
    status = 404
    description = "The job has no result (yet)."


class ScheduleNotFound(NotFound):
    code = "SCHEDULE_NOT_FOUND"
    status = 404
    description = "The schedule does not exist or is not yours."


class InvalidCron(ValidationFailed):
    code = "INVALID_CRON"
    status = 422
    description = "The cron expression or time zone is not valid."
