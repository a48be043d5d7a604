from core.api.views import BaseModelViewSet

from ..filtersets import DivisionFilterSet
from ..models import Division
from .serializers import DivisionSerializer


class DivisionViewSet(BaseModelViewSet):
    """Administrative divisions; ``?within=320505`` or ``?code_prefix=320505`` selects a subtree."""

    queryset = Division.objects.all()
    serializer_class = DivisionSerializer
    filterset_class = DivisionFilterSet
