from rest_framework import serializers


class BaseModelSerializer(serializers.ModelSerializer):
    """Adds ``url`` (the API detail URL) and drops fields of form sections the caller may not see.

    ``Meta.sections = {"tests": ["last_test", ...]}`` names the fields each section owns; a user
    whose role lacks the section never receives those fields, in lists or details.
    """

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
        sections = getattr(self.Meta, "sections", {})
        user = getattr(request, "user", None)
        for section, names in sections.items():
            if user is None or not user.sees_section(section):
                for name in names:
                    fields.pop(name, None)
        return fields
