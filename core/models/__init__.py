from .audit import AccessLog, AppendOnlyError, AuditChainHead, ChangeLog
from .base import AuditedModel, BaseModel, RestrictedQuerySet
from .imports import ImportBatch
from .jobs import Job

__all__ = ("AccessLog", "AppendOnlyError", "AuditChainHead", "ChangeLog", "AuditedModel", "BaseModel",
           "RestrictedQuerySet", "ImportBatch", "Job")
