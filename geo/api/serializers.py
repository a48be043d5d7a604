from core.api.serializers import BaseModelSerializer

from ..models import Division


class DivisionSerializer(BaseModelSerializer):
    class Meta:
        model = Division
        fields = ["code", "url", "name", "level", "parent", "population", "source"]
        read_only_fields = ["level"]
