from rest_framework import serializers

from core.models import AccessLog, ChangeLog, Job


from .views import BaseModelViewSet


class ReadOnlyScopedViewSet(BaseModelViewSet):
    http_method_names = ["get", "head", "options"]


class ChangeLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChangeLog
        fields = ["seq", "time", "user_id", "username", "ip", "request_id", "channel", "action", "object_type",
                  "object_id", "object_repr", "before", "after", "message", "prev_hash", "row_hash"]


class AccessLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = AccessLog
        fields = ["seq", "time", "user_id", "username", "ip", "request_id", "channel", "event", "result", "object_type",
                  "object_id", "object_repr", "reason", "detail", "prev_hash", "row_hash"]


class JobSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = Job
        fields = ["id", "kind", "label", "status", "progress", "total", "percent", "message", "result", "error",
                  "created", "started", "finished"]


class ChangeLogViewSet(ReadOnlyScopedViewSet):
    queryset = ChangeLog.objects.all()
    serializer_class = ChangeLogSerializer
    filterset_fields = ["action", "object_type", "object_id", "username", "request_id"]


class AccessLogViewSet(ReadOnlyScopedViewSet):
    queryset = AccessLog.objects.all()
    serializer_class = AccessLogSerializer
    filterset_fields = ["event", "result", "object_type", "object_id", "username"]


class JobViewSet(ReadOnlyScopedViewSet):
    queryset = Job.objects.all()
    serializer_class = JobSerializer
    filterset_fields = ["status", "kind"]



