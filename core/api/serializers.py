from rest_framework import serializers

from core.sections import hidden_fields


class BaseModelSerializer(serializers.ModelSerializer):
    """Adds ``url`` (the API detail URL) and drops the fields of form sections the caller may not see
    (the model's ``field_sections``, see core.sections), in lists and details alike."""

    url = serializers.SerializerMethodField()

    def get_url(self, obj) -> str | None:
        request = self.context.get("request")
        view = self.context.get("view")
        if request is None or view is None or not getattr(view, "basename", None):
            return None
        from rest_framework.reverse import reverse

        namespace = request.resolver_match.namespace if request.resolver_match else ""
        name = f"{namespace}:{view.basename}-detail" if namespace else f"{view.basename}-detail"
        try:
            return reverse(name, args=[obj.pk], request=request)
        except Exception:
            return None

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        user = getattr(request, "user", None)
        for name in hidden_fields(user, self.Meta.model):
            fields.pop(name, None)
        return fields
